//! `etcdctl snapshot save <filename>`: clientv3/snapshot's `Save`. The Maintenance.Snapshot
//! stream of the one endpoint goes into `<filename>.part` (mode 0600), which is fsynced and
//! renamed to `<filename>` once the stream ended with a SHA-256 trailer; on any failure only
//! the `.part` file is removed. Logs the same zap lines as etcdctl 3.4.23 on stderr, prints
//! `Snapshot saved at <filename>`; failures exit with `ExitInterrupted` (5).
//!
//! Our additions: the trailer is checked against the received database (etcd leaves that
//! to `snapshot restore`), the directory is fsynced after the rename, and a progress line
//! is shown when stderr is a terminal.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;

use ::snapshot::{has_checksum, Digest, HashingWriter, SHA256_SIZE};
use client::RetryPolicy;
use etcd_proto::etcdserverpb::{SnapshotRequest, SnapshotResponse};
use tokio::time::Instant;
use tonic::{Code, Status, Streaming};

use super::file::path_error;
use super::log;
use super::progress::Progress;
use super::EXIT_INTERRUPTED;
use crate::commands::{block_on, errno_text, request, Conn, Ctx, Settings};
use crate::exit::{CmdResult, Exit, EXIT_BAD_ARGS};
use crate::go::humanize;
use crate::out;

/// `ExitWithError(ExitInterrupted, err)`.
fn fail(err: impl std::fmt::Display) -> Exit {
    Exit::error(EXIT_INTERRUPTED, err)
}

/// `etcdctl snapshot save <filename>`.
pub fn save(ctx: &mut Ctx) -> CmdResult {
    if ctx.args.len() != 1 {
        return Err(Exit::error(
            EXIT_BAD_ARGS,
            "snapshot save expects one argument",
        ));
    }
    let settings = ctx.settings()?;
    // Only an explicit --command-timeout (flag or environment) bounds the download.
    let timeout = ctx
        .flags
        .changed("command-timeout")
        .then_some(settings.command_timeout);
    let path = ctx.args[0].clone();
    block_on(async {
        let save = Save {
            settings: &settings,
            deadline: timeout.map(|t| Instant::now() + t),
            path: &path,
        };
        save.run().await
    })?;
    out::line(format!("Snapshot saved at {path}"));
    Ok(())
}

/// One download.
struct Save<'a> {
    settings: &'a Settings,
    deadline: Option<Instant>,
    path: &'a str,
}

/// Removes the `.part` file when dropped (clientv3's `defer os.RemoveAll(partpath)`); a
/// no-op once it has been renamed.
struct RemovePart<'a>(&'a str);

impl Drop for RemovePart<'_> {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(self.0);
    }
}

impl Save<'_> {
    async fn run(&self) -> Result<(), Exit> {
        let endpoints = &self.settings.config.endpoints;
        if endpoints.len() != 1 {
            return Err(fail(format!(
                "snapshot must be requested to one selected node, not multiple [{}]",
                endpoints.join(" ")
            )));
        }
        let endpoint = endpoints[0].as_str();
        let conn = Conn::new(&self.settings.config).await.map_err(|e| Exit {
            code: EXIT_INTERRUPTED,
            ..e
        })?;
        let part = format!("{}.part", self.path);
        let _remove = RemovePart(&part);
        let file = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&part)
            .map_err(|e| {
                fail(format!(
                    "could not open {part} ({})",
                    path_error("open", &part, &e)
                ))
            })?;
        let mut line = log::save_info(119, "created temporary db file");
        log::emit(line.str("path", &part));
        let start = std::time::Instant::now();
        let mut stream = self.open_stream(&conn, endpoint).await?;
        let size = self.download(&mut stream, file, &part).await?;
        let mut line = log::save_info(142, "fetched snapshot");
        line.str("endpoint", endpoint)
            .str("size", &humanize::bytes(size))
            .raw("took", &log::seconds(start.elapsed()));
        log::emit(&mut line);
        rename(&part, self.path)?;
        log::emit(log::save_info(152, "saved").str("path", self.path));
        Ok(())
    }

    /// Opens the stream, waiting (until the deadline, if any) for the connection as
    /// clientv3 does; logs what clientv3 logs.
    async fn open_stream(
        &self,
        conn: &Conn,
        endpoint: &str,
    ) -> Result<Streaming<SnapshotResponse>, Exit> {
        conn.stream_auth().await.map_err(fail)?;
        let maintenance = conn.client.maintenance();
        let opened = conn
            .client
            .call(
                self.deadline,
                RetryPolicy::NonRepeatable,
                &mut |_: u32, _: &client::Error| {},
                |left| {
                    let mut m = maintenance.clone();
                    async move { m.snapshot(request(SnapshotRequest {}, left)).await }
                },
            )
            .await;
        let opened_logs = || {
            log::emit(&mut log::stream(
                "info",
                200,
                "opened snapshot stream; downloading",
            ));
            log::emit(log::save_info(127, "fetching snapshot").str("endpoint", endpoint));
        };
        match opened {
            Ok(resp) => {
                opened_logs();
                Ok(resp.into_inner())
            }
            Err(client::Error::DeadlineExceeded(last)) => {
                // Go's stream never became ready: the balancer reports why.
                let text = if last.is_some() {
                    "rpc error: code = DeadlineExceeded desc = latest balancer error: all SubConns are in TransientFailure".to_string()
                } else {
                    client::Error::DeadlineExceeded(None).grpc_text()
                };
                log::stream_create_failed(&text);
                Err(fail("context deadline exceeded"))
            }
            // Go opens the stream without waiting for the server's answer: a refusal
            // comes with the first message.
            Err(client::Error::Status(status)) => {
                opened_logs();
                Err(self.recv_failed(status))
            }
            Err(e) => Err(fail(e)),
        }
    }

    /// Writes the stream into `file` until it ends; returns the number of bytes, after
    /// checking the trailer and syncing the file.
    async fn download(
        &self,
        stream: &mut Streaming<SnapshotResponse>,
        mut file: File,
        part: &str,
    ) -> Result<u64, Exit> {
        let mut progress = Progress::new();
        let mut trailer = TrailerCheck::default();
        let mut size = 0u64;
        loop {
            let next = match self.deadline {
                Some(d) => tokio::time::timeout_at(d, stream.message())
                    .await
                    .unwrap_or_else(|_| {
                        Err(Status::deadline_exceeded("context deadline exceeded"))
                    }),
                None => stream.message().await,
            };
            match next {
                Ok(Some(resp)) => {
                    file.write_all(&resp.blob)
                        .map_err(|e| fail(path_error("write", part, &e)))?;
                    size += resp.blob.len() as u64;
                    trailer.push(&resp.blob);
                    progress.update(size, resp.remaining_bytes);
                }
                Ok(None) => {
                    progress.clear();
                    log::emit(&mut log::stream(
                        "info",
                        208,
                        "completed snapshot read; closing",
                    ));
                    break;
                }
                Err(status) => {
                    progress.clear();
                    return Err(self.recv_failed(status));
                }
            }
        }
        if !has_checksum(size) {
            return Err(fail(format!("sha256 checksum not found [bytes: {size}]")));
        }
        trailer.verify().map_err(|e| {
            fail(format!(
                "received snapshot does not match its SHA-256 trailer ({e})"
            ))
        })?;
        file.sync_all()
            .map_err(|e| fail(path_error("sync", part, &e)))?;
        Ok(size)
    }

    /// The stream failed: clientv3 logs the gRPC error, and `toErr` turns a deadline or
    /// cancellation after the context expired into the context's error.
    fn recv_failed(&self, status: Status) -> Exit {
        let err = client::Error::Status(go_status(status));
        let mut line = log::stream(
            "warn",
            210,
            "failed to receive from snapshot stream; closing",
        );
        log::emit(line.str("error", &err.grpc_text()));
        let expired = self.deadline.is_some_and(|d| Instant::now() >= d);
        let code = err.status().map(Status::code);
        if expired && matches!(code, Some(Code::DeadlineExceeded | Code::Cancelled)) {
            return fail("context deadline exceeded");
        }
        fail(err)
    }
}

/// A failure of the connection itself (tonic reports the I/O error from hyper, with a
/// source) as Go's gRPC reports it when the transport goes away.
fn go_status(status: Status) -> Status {
    if std::error::Error::source(&status).is_some() {
        Status::unavailable("transport is closing")
    } else {
        status
    }
}

/// Go's `os.Rename` (a directory in the way is `EEXIST`), with clientv3's message; then
/// the directory is synced so the new name survives a crash.
fn rename(part: &str, path: &str) -> Result<(), Exit> {
    let refused = |text: String| {
        fail(format!(
            "could not rename {part} to {path} (rename {part} {path}: {text})"
        ))
    };
    if std::fs::symlink_metadata(path).is_ok_and(|m| m.is_dir()) {
        let eexist = std::io::Error::from_raw_os_error(libc::EEXIST);
        return Err(refused(errno_text(&eexist)));
    }
    std::fs::rename(part, path).map_err(|e| refused(errno_text(&e)))?;
    let dir = match std::path::Path::new(path).parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => std::path::Path::new("."),
    };
    // Best effort: etcdctl does not sync the directory at all.
    if let Ok(d) = File::open(dir) {
        let _ = d.sync_all();
    }
    Ok(())
}

/// The SHA-256 of everything received but the last 32 bytes, which are kept aside: at
/// the end of the stream they are the trailer.
struct TrailerCheck {
    hasher: HashingWriter<std::io::Sink>,
    tail: Vec<u8>,
}

impl Default for TrailerCheck {
    fn default() -> Self {
        TrailerCheck {
            hasher: HashingWriter::new(std::io::sink()),
            tail: Vec::with_capacity(2 * SHA256_SIZE),
        }
    }
}

impl TrailerCheck {
    /// Takes the next received bytes.
    fn push(&mut self, blob: &[u8]) {
        if blob.len() >= SHA256_SIZE {
            // Everything kept so far, and all but the last 32 new bytes, are database.
            let _ = self.hasher.write_all(&self.tail);
            let (db, tail) = blob.split_at(blob.len() - SHA256_SIZE);
            let _ = self.hasher.write_all(db);
            self.tail.clear();
            self.tail.extend_from_slice(tail);
            return;
        }
        self.tail.extend_from_slice(blob);
        if self.tail.len() > SHA256_SIZE {
            let extra = self.tail.len() - SHA256_SIZE;
            let _ = self.hasher.write_all(&self.tail[..extra]);
            self.tail.drain(..extra);
        }
    }

    /// Checks the last 32 bytes against the digest of the bytes before them.
    fn verify(self) -> Result<(), ::snapshot::Error> {
        let expected: Digest = self
            .tail
            .as_slice()
            .try_into()
            .map_err(|_| ::snapshot::Error::MissingHash)?;
        let got = self.hasher.finish();
        if got != expected {
            return Err(::snapshot::Error::HashMismatch { expected, got });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stream_of(db: &[u8]) -> Vec<u8> {
        let mut w = HashingWriter::new(Vec::new());
        w.write_all(db).unwrap();
        let (mut bytes, digest) = w.into_parts();
        bytes.extend_from_slice(&digest);
        bytes
    }

    #[test]
    fn trailer_check_accepts_any_chunking_and_spots_a_flip() {
        let db: Vec<u8> = (0..5000u32).map(|i| (i * 7) as u8).collect();
        let stream = stream_of(&db);
        for chunk in [1, 5, 31, 32, 33, 1000, 10_000] {
            let mut c = TrailerCheck::default();
            for part in stream.chunks(chunk) {
                c.push(part);
            }
            assert!(c.verify().is_ok(), "chunk {chunk}");
        }
        let mut bad = stream.clone();
        bad[100] ^= 1;
        let mut c = TrailerCheck::default();
        c.push(&bad);
        assert!(matches!(
            c.verify(),
            Err(::snapshot::Error::HashMismatch { .. })
        ));
    }
}
