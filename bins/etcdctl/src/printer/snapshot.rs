//! The printer of `snapshot status` (etcdctl's `DBStatus` printer methods and
//! `makeDBStatusTable`): hash in hex, revision, total keys and the humanized size for
//! `simple` and `table`; the raw numbers for `fields` and `json`; `protobuf` is not
//! supported (a `snapshot.Status` has no protobuf form).

use ::snapshot::Status;

use super::{simple, table, Format, Printer, Table};
use crate::exit::Exit;
use crate::go::humanize;
use crate::out;

impl Printer {
    /// Prints a snapshot file's status (`display.DBStatus`).
    pub fn db_status(&self, s: &Status) -> Result<(), Exit> {
        match self.format {
            Format::Simple => simple::rows(&db_status_table(s).1),
            Format::Fields => {
                out::line(format!("\"Hash\" : {}", s.hash));
                out::line(format!("\"Revision\" : {}", s.revision));
                out::line(format!("\"Keys\" : {}", s.total_key));
                out::line(format!("\"Size\" : {}", s.total_size));
            }
            // `snapshot.Status` has JSON tags without `omitempty`: zeroes are printed.
            Format::Json => out::line(format!(
                "{{\"hash\":{},\"revision\":{},\"totalKey\":{},\"totalSize\":{}}}",
                s.hash, s.revision, s.total_key, s.total_size
            )),
            Format::Protobuf => return Err(self.unsupported()),
            Format::Table => table::print(db_status_table(s)),
        }
        Ok(())
    }
}

/// `makeDBStatusTable`.
fn db_status_table(s: &Status) -> Table {
    let hdr = vec!["hash", "revision", "total keys", "total size"];
    let row = vec![
        format!("{:x}", s.hash),
        s.revision.to_string(),
        s.total_key.to_string(),
        humanize::bytes(u64::try_from(s.total_size).unwrap_or(0)),
    ];
    (hdr, vec![row])
}
