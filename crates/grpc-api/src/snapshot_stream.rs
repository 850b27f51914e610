//! Maintenance.Snapshot's response stream, as etcd sends it: the database in 32 KiB
//! chunks, each with the bytes remaining after it, then one last message holding the
//! SHA-256 of everything sent (`remaining_bytes` 0), which clients append to the file.

use std::fs::File;

use etcd_proto::etcdserverpb::SnapshotResponse;
use futures::Stream;
use sha2::{Digest, Sha256};
use tokio::io::AsyncReadExt;
use tonic::Status;

/// etcd's `snapshotSendBufferSize`.
pub const CHUNK: usize = 32 * 1024;

struct State {
    file: tokio::fs::File,
    remaining: u64,
    hash: Option<Sha256>,
}

/// Streams the first `size` bytes of `file` (rewound), then their digest.
pub fn stream(file: File, size: u64) -> impl Stream<Item = Result<SnapshotResponse, Status>> {
    let state = State {
        file: tokio::fs::File::from_std(file),
        remaining: size,
        hash: Some(Sha256::new()),
    };
    futures::stream::unfold(state, |mut st| async move {
        let hash = st.hash.as_mut()?;
        if st.remaining == 0 {
            let digest = st.hash.take()?.finalize().to_vec();
            return Some((
                Ok(SnapshotResponse {
                    header: None,
                    remaining_bytes: 0,
                    blob: digest,
                }),
                st,
            ));
        }
        let want = CHUNK.min(usize::try_from(st.remaining).unwrap_or(CHUNK));
        let mut buf = vec![0u8; want];
        if let Err(e) = st.file.read_exact(&mut buf).await {
            st.hash = None;
            return Some((Err(Status::unknown(format!("snapshot: {e}"))), st));
        }
        hash.update(&buf);
        st.remaining -= want as u64;
        let resp = SnapshotResponse {
            header: None,
            remaining_bytes: st.remaining,
            blob: buf,
        };
        Some((Ok(resp), st))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures::StreamExt;
    use std::io::Write;

    #[tokio::test]
    async fn chunks_then_digest() {
        let data: Vec<u8> = (0..(CHUNK * 2 + 100)).map(|i| i as u8).collect();
        let mut f = tempfile::tempfile().unwrap();
        f.write_all(&data).unwrap();
        f.write_all(b"beyond the size").unwrap();
        std::io::Seek::rewind(&mut f).unwrap();
        let msgs: Vec<SnapshotResponse> = stream(f, data.len() as u64)
            .map(|r| r.unwrap())
            .collect()
            .await;
        let remaining: Vec<u64> = msgs.iter().map(|m| m.remaining_bytes).collect();
        assert_eq!(remaining, vec![(CHUNK + 100) as u64, 100, 0, 0]);
        let body: Vec<u8> = msgs[..3].iter().flat_map(|m| m.blob.clone()).collect();
        assert_eq!(body, data);
        assert_eq!(msgs[3].blob, Sha256::digest(&data).to_vec());
    }
}
