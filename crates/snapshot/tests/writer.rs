//! Our writer against our reader and the real etcdctl 3.4.23: databases of every shape
//! (empty, inline buckets, multi-level trees, overflow pages) read back identically, pass
//! real `etcdctl snapshot status` (bbolt's own integrity check) with the same hash, and
//! damaged copies are refused without panicking.

mod common;

use common::{corruption_sweep, real_restore_error, real_status};
use snapshot::{Builder, Error, Reader};

type Buckets = Vec<snapshot::Bucket>;

fn sample() -> Buckets {
    let key: Vec<(Vec<u8>, Vec<u8>)> = (1..=5000i64)
        .map(|r| {
            let rev = snapshot::etcd::Revision { main: r, sub: 0 };
            let big = r % 997 == 0;
            let v = vec![(r % 251) as u8; if big { 3 * 4096 + 17 } else { 40 }];
            (rev.to_bytes().to_vec(), v)
        })
        .collect();
    vec![
        (b"alarm".to_vec(), vec![]),
        (b"key".to_vec(), key),
        (
            b"lease".to_vec(),
            vec![(7u64.to_be_bytes().to_vec(), b"lease".to_vec())],
        ),
        (
            b"meta".to_vec(),
            vec![(b"consistent_index".to_vec(), 42u64.to_be_bytes().to_vec())],
        ),
        // One value bigger than a whole page, alone in a bucket: a single overflowing leaf.
        (b"zbig".to_vec(), vec![(b"k".to_vec(), vec![9u8; 70_000])]),
    ]
}

#[test]
fn written_file_reads_back_and_real_etcdctl_agrees() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ours.db");
    let data = sample();
    let digest = snapshot::write(&path, data.clone()).unwrap();

    let bytes = std::fs::read(&path).unwrap();
    assert!(snapshot::has_checksum(bytes.len() as u64));
    assert_eq!(&bytes[bytes.len() - 32..], &digest[..]);

    let r = Reader::open(&path, true).unwrap();
    assert_eq!(r.trailer(), Some(digest));
    assert_eq!(r.read_all().unwrap(), data);
    r.check().unwrap();

    let ours = snapshot::status(&path).unwrap();
    assert_eq!(ours, real_status(&path));
    assert_eq!(ours.revision, 5000);
    assert_eq!(ours.total_key, 5003);

    // The stream form gives the same bytes.
    let mut streamed = Vec::new();
    assert_eq!(snapshot::write_to(data, &mut streamed).unwrap(), digest);
    assert_eq!(streamed, bytes);
}

#[test]
fn empty_database_and_empty_buckets() {
    let dir = tempfile::tempdir().unwrap();
    for (name, data) in [
        ("none.db", Buckets::new()),
        ("empty.db", vec![(b"members_removed".to_vec(), vec![])]),
    ] {
        let path = dir.path().join(name);
        snapshot::write(&path, data.clone()).unwrap();
        let r = Reader::open(&path, true).unwrap();
        assert_eq!(r.read_all().unwrap(), data);
        let st = snapshot::status(&path).unwrap();
        assert_eq!(st, real_status(&path));
        assert_eq!((st.revision, st.total_key, st.total_size), (0, 0, 4 * 4096));
    }
}

#[test]
fn small_pages_give_deeper_trees_that_real_etcdctl_accepts() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("small.db");
    let mut b = Builder::with_page_size(std::fs::File::create(&path).unwrap(), 512).unwrap();
    for (name, kvs) in sample() {
        b.bucket(&name).unwrap();
        for (k, v) in kvs {
            b.put(&k, &v).unwrap();
        }
    }
    let (_, size) = b.finish().unwrap();
    assert_eq!(std::fs::metadata(&path).unwrap().len(), size);
    let r = Reader::open(&path, false).unwrap();
    assert_eq!(r.page_size(), 512);
    assert_eq!(r.read_all().unwrap(), sample());
    assert_eq!(snapshot::status(&path).unwrap(), real_status(&path));
    assert!(Builder::with_page_size(std::io::Cursor::new(Vec::new()), 1000).is_err());
}

#[test]
fn bad_input_is_refused() {
    let unsorted = vec![(b"b", vec![(b"2".to_vec(), vec![]), (b"1".to_vec(), vec![])])];
    let e = snapshot::write_db(std::io::Cursor::new(Vec::new()), unsorted).unwrap_err();
    assert!(e.to_string().contains("ascending"), "{e}");
    // Out of order across a page boundary: the first key of the second page sorts inside
    // the first page.
    let mut keys: Vec<(Vec<u8>, Vec<u8>)> = (0..200u32)
        .map(|i| (format!("k{i:05}").into_bytes(), vec![0u8; 100]))
        .collect();
    keys.push((b"k00001x".to_vec(), Vec::new()));
    let e = snapshot::write_db(std::io::Cursor::new(Vec::new()), vec![(b"b", keys)]).unwrap_err();
    assert!(e.to_string().contains("ascending"), "{e}");
    let twice: Buckets = vec![(b"b".to_vec(), vec![]), (b"b".to_vec(), vec![])];
    let e = snapshot::write_db(std::io::Cursor::new(Vec::new()), twice).unwrap_err();
    assert!(e.to_string().contains("twice"), "{e}");
    let empty_key = vec![(b"b", vec![(Vec::new(), b"v".to_vec())])];
    let e = snapshot::write_db(std::io::Cursor::new(Vec::new()), empty_key).unwrap_err();
    assert_eq!(e.to_string(), "key required");
}

#[test]
fn hash_trailer_is_verified() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.db");
    snapshot::write(&path, sample()).unwrap();
    let mut bytes = std::fs::read(&path).unwrap();

    // A bare db file (no trailer): readable, but not with verification; the message is
    // real etcdctl restore's.
    let bare = bytes[..bytes.len() - 32].to_vec();
    assert!(Reader::from_bytes(bare.clone(), false).is_ok());
    let e = Reader::from_bytes(bare.clone(), true).err().unwrap();
    assert_eq!(
        e.to_string(),
        "snapshot missing hash but --skip-hash-check=false"
    );
    let bare_path = dir.path().join("bare.db");
    std::fs::write(&bare_path, bare).unwrap();
    assert_eq!(e.to_string(), real_restore_error(&bare_path));

    // A flipped value byte: the pages still parse, the digest does not match; the message
    // is real etcdctl restore's.
    let n = bytes.len();
    bytes[n - 40] ^= 0x55;
    let e = Reader::from_bytes(bytes.clone(), true).err().unwrap();
    assert!(matches!(e, Error::HashMismatch { .. }));
    std::fs::write(&path, &bytes).unwrap();
    assert_eq!(e.to_string(), real_restore_error(&path));
    assert!(matches!(
        Reader::open(&path, true),
        Err(Error::HashMismatch { .. })
    ));
    assert!(Reader::from_bytes(bytes, false).is_ok());
}

#[test]
fn damaged_files_are_refused_without_panic() {
    let mut out = std::io::Cursor::new(Vec::new());
    let size = snapshot::write_db(&mut out, sample()).unwrap() as usize;
    let good = out.into_inner();
    let refused = corruption_sweep(&good, size, 1531);
    assert!(refused > 0);

    // Garbage and tiny inputs.
    for bad in [
        vec![],
        vec![0u8; 100],
        vec![0xffu8; 8192],
        vec![0u8; 3 * 4096],
    ] {
        assert!(Reader::from_bytes(bad, false).is_err());
    }
}
