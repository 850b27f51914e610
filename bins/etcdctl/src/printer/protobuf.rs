//! `-w protobuf`: the raw marshalled response, as etcdctl's `printPB` writes it.

use crate::out;

pub fn print<M: prost::Message>(m: &M) {
    out::stdout(m.encode_to_vec());
}
