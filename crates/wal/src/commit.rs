//! Group commit: concurrent callers waiting for durability share one fdatasync.
//!
//! Appends are numbered by tickets. A caller that needs ticket `t` durable either finds it
//! already covered, waits while another thread's flush is running, or becomes the leader
//! and runs a flush that covers every ticket appended so far, waking all waiters when done.
//! While a flush runs, other threads keep appending; the next leader covers them all.

use parking_lot::{Condvar, Mutex};

use crate::WalError;

#[derive(Default)]
struct State {
    /// Every ticket `<= durable` is on stable storage.
    durable: u64,
    /// A leader is flushing right now.
    flushing: bool,
}

#[derive(Default)]
pub(crate) struct GroupCommit {
    state: Mutex<State>,
    done: Condvar,
}

impl GroupCommit {
    /// Returns once `ticket` is durable.
    ///
    /// `flush` makes everything appended so far durable and returns the highest ticket it
    /// covered. `failure` reports an earlier failed flush, which waiters then return too.
    pub(crate) fn wait_durable(
        &self,
        ticket: u64,
        failure: impl Fn() -> Option<WalError>,
        mut flush: impl FnMut() -> Result<u64, WalError>,
    ) -> Result<(), WalError> {
        let mut state = self.state.lock();
        loop {
            if state.durable >= ticket {
                return Ok(());
            }
            if let Some(err) = failure() {
                return Err(err);
            }
            if state.flushing {
                self.done.wait(&mut state);
                continue;
            }
            state.flushing = true;
            drop(state);
            let result = flush();
            state = self.state.lock();
            state.flushing = false;
            if let Ok(covered) = result {
                state.durable = state.durable.max(covered);
            }
            self.done.notify_all();
            result?;
        }
    }
}
