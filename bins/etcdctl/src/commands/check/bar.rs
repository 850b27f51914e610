//! The progress bar of `check perf` and `check datascale`: cheggaaa/pb.v1 1.0.25 as
//! etcdctl sets it up (`bar.Format("Bom !")`, counters, percentage, time left, final
//! time), redrawn every 200 ms on stdout after a `\r`. Like pb, it is drawn whether or not
//! stdout is a terminal; its width is the terminal's (`/dev/tty`, else stdin), and without
//! one only the counters, percentage and time are written.

use std::fs::File;
use std::os::fd::AsRawFd;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use crate::out;

/// pb's `DEFAULT_REFRESH_RATE`.
const REFRESH: Duration = Duration::from_millis(200);
/// etcdctl's `bar.Format("Bom !")`: start, current, current's head, empty, end.
const BAR_START: &str = "B";
const CURRENT: &str = "o";
const CURRENT_HEAD: &str = "m";
const EMPTY: &str = " ";
const BAR_END: &str = "!";

/// A running progress bar; clones share it.
#[derive(Clone)]
pub struct Bar(Arc<Inner>);

struct Inner {
    total: i64,
    current: AtomicI64,
    /// pb opens `/dev/tty` once to measure the terminal (stdin when that fails).
    tty: Option<File>,
    state: Mutex<State>,
}

struct State {
    start: Instant,
    previous: i64,
    change: Instant,
    /// `Finish` has begun (pb's closed `finish` channel).
    finishing: bool,
    /// `Finish` is done: nothing is drawn any more.
    finished: bool,
}

impl Bar {
    /// `pb.New(total)` followed by `Start()`: draws it once, then every 200 ms.
    pub fn start(total: i64) -> Bar {
        let now = Instant::now();
        let bar = Bar(Arc::new(Inner {
            total,
            current: AtomicI64::new(0),
            tty: File::open("/dev/tty").ok(),
            state: Mutex::new(State {
                start: now,
                previous: 0,
                change: now,
                finishing: false,
                finished: false,
            }),
        }));
        bar.update();
        let refresher = bar.clone();
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(REFRESH).await;
                if refresher.lock().finishing {
                    return;
                }
                refresher.update();
            }
        });
        bar
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.0.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Adds `n` to the count.
    pub fn add(&self, n: i64) {
        self.0.current.fetch_add(n, Ordering::SeqCst);
    }

    /// `Finish`: the final drawing (with the elapsed time), then a newline.
    pub fn finish(&self) {
        {
            let mut st = self.lock();
            if st.finishing {
                return;
            }
            st.finishing = true;
        }
        self.write(self.0.current.load(Ordering::SeqCst));
        let mut st = self.lock();
        out::stdout("\n");
        st.finished = true;
    }

    /// `Update`: notes when the count last changed, and draws.
    fn update(&self) {
        let c = self.0.current.load(Ordering::SeqCst);
        {
            let mut st = self.lock();
            if st.previous != c {
                st.change = Instant::now();
                st.previous = c;
            }
        }
        self.write(c);
    }

    /// The terminal's width in columns (0 without a terminal).
    fn width(&self) -> usize {
        let fd = self.0.tty.as_ref().map_or(0, AsRawFd::as_raw_fd);
        // SAFETY: TIOCGWINSZ fills the winsize we pass, nothing else.
        let mut ws: libc::winsize = unsafe { std::mem::zeroed() };
        if unsafe { libc::ioctl(fd, libc::TIOCGWINSZ, &mut ws) } != 0 {
            return 0;
        }
        usize::from(ws.ws_col)
    }

    /// pb's `write`: one drawing of the bar for count `current`.
    fn write(&self, current: i64) {
        let total = self.0.total;
        let width = self.width();
        let percent = if total > 0 {
            current as f64 / (total as f64 / 100.0)
        } else {
            current as f64 / 100.0
        };
        let percent_box = format!(" {percent:6.2}%");
        let counters_box = if total > 0 {
            format!(" {current} / {total} ")
        } else {
            format!(" {current} / ? ")
        };
        let st = self.lock();
        let time_box = time_left(&st, total, current);
        let fixed = counters_box.len()
            + BAR_START.len()
            + BAR_END.len()
            + percent_box.len()
            + time_box.len();
        let bar_box = if width > fixed {
            bar(width - fixed, total, current)
        } else {
            String::new()
        };
        let line = format!("{counters_box}{bar_box}{percent_box}{time_box}");
        let pad = " ".repeat(width.saturating_sub(line.len()));
        // Written under the state's lock, as pb does under its mutex.
        if !st.finished {
            out::stdout(format!("\r{line}{pad}"));
        }
    }
}

/// The time box: the elapsed time once finishing, else the estimated time left.
fn time_left(st: &State, total: i64, current: i64) -> String {
    let from_start = st.start.elapsed();
    if st.finishing {
        let secs = i64::try_from(from_start.as_secs()).unwrap_or(i64::MAX);
        return format!(" {}", crate::go::duration::format(secs * 1_000_000_000));
    }
    // The count starts at 0, so everything counted was done since the start.
    let done = current;
    if done <= 0 {
        return String::new();
    }
    let nanos = |d: Duration| i64::try_from(d.as_nanos()).unwrap_or(i64::MAX);
    let per_entry = nanos(st.change.duration_since(st.start)) / done;
    let left = if total > 0 {
        (total - done) * per_entry - nanos(st.change.elapsed())
    } else {
        done * per_entry
    };
    let left = left / 1_000_000_000 * 1_000_000_000;
    if left > 0 {
        format!(" {}", format_duration(left))
    } else {
        String::new()
    }
}

/// pb's `formatDuration`: `[<d>d][<h>h]<mm>m<ss>s`.
fn format_duration(nanos: i64) -> String {
    const HOUR: i64 = 3600 * 1_000_000_000;
    let mut d = nanos;
    let mut s = String::new();
    if d > 24 * HOUR {
        s.push_str(&format!("{}d", d / 24 / HOUR));
        d -= d / HOUR / 24 * (24 * HOUR);
    }
    if d > HOUR {
        s.push_str(&format!("{}h", d / HOUR));
        d -= d / HOUR * HOUR;
    }
    let m = d / (60 * 1_000_000_000);
    d -= m * 60 * 1_000_000_000;
    format!("{s}{m:02}m{:02}s", d / 1_000_000_000)
}

/// The bar itself, `size` columns wide.
fn bar(size: usize, total: i64, current: i64) -> String {
    let mut b = String::from(BAR_START);
    if total > 0 {
        let cur = ((current as f64 / total as f64) * size as f64).ceil() as i64;
        let size = size as i64;
        let empty = (size - cur).max(0);
        let cur = cur.min(size).max(0);
        if empty <= 0 {
            b.push_str(&CURRENT.repeat(cur as usize));
        } else if cur > 0 {
            b.push_str(&CURRENT.repeat((cur - 1) as usize));
            b.push_str(CURRENT_HEAD);
        }
        b.push_str(&EMPTY.repeat(empty as usize));
    } else {
        let pos = size as i64 - current % size as i64;
        b.push_str(&EMPTY.repeat((pos - 1).max(0) as usize));
        b.push_str(CURRENT);
        b.push_str(&EMPTY.repeat((size as i64 - pos - 1).max(0) as usize));
    }
    b.push_str(BAR_END);
    b
}

#[cfg(test)]
mod tests {
    use super::{bar, format_duration};

    #[test]
    fn durations_like_pb() {
        assert_eq!(format_duration(59 * 1_000_000_000), "00m59s");
        assert_eq!(format_duration(61 * 1_000_000_000), "01m01s");
        assert_eq!(format_duration(3601 * 1_000_000_000), "1h00m01s");
    }

    #[test]
    fn bars_like_pb() {
        assert_eq!(bar(10, 60, 30), "Boooom     !");
        assert_eq!(bar(4, 60, 60), "Boooo!");
        assert_eq!(bar(4, 60, 0), "B    !");
    }
}
