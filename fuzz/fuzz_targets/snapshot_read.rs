//! Fuzzes the snapshot reader: any bytes (a bbolt database, with or without a SHA-256
//! trailer) must open, walk, check and give a status or an error, never a panic, a hang or
//! an absurd allocation. Whatever reads back must also survive a rewrite and read the same.

#![no_main]

use libfuzzer_sys::fuzz_target;
use snapshot::Reader;

fuzz_target!(|bytes: &[u8]| {
    let Ok(reader) = Reader::from_bytes(bytes.to_vec(), false) else {
        return;
    };
    let _ = reader.check();
    let _ = reader.status();
    let Ok(all) = reader.read_all() else {
        return;
    };
    // Keys may be unsorted or repeated in a damaged file: the writer then refuses them.
    // Buckets may be out of order: the writer sorts them.
    let mut out = std::io::Cursor::new(Vec::new());
    if snapshot::write_db(&mut out, all.clone()).is_ok() {
        let again = Reader::from_bytes(out.into_inner(), false).expect("rewrite opens");
        let mut expected = all;
        expected.sort_by(|a, b| a.0.cmp(&b.0));
        assert_eq!(again.read_all().expect("rewrite reads"), expected);
    }
});
