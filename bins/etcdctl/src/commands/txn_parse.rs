//! etcdctl's txn syntax: compares (`mod("k") > "5"`) and request lines (`put k v`,
//! `get k --prefix`, `del k`) parsed exactly as `txn_command.go` and `util.go` do,
//! including their quirks.

use etcd_proto::etcdserverpb::compare::{CompareResult, CompareTarget, TargetUnion};
use etcd_proto::etcdserverpb::request_op::Request;
use etcd_proto::etcdserverpb::{Compare, RequestOp};

use super::kv::{del_op, get_op, put_op};
use crate::cli::{cobra_usage, command, spec::TXN_ROOT};
use crate::exit::{Exit, EXIT_INVALID_INPUT};
use crate::go::{quote::quote, quote::unquote, scanf::sscanf, strconv};
use crate::out;

/// Go's `strings.TrimSpace` on bytes.
pub fn trim_space(b: &[u8]) -> &[u8] {
    let is_sp = |c: &u8| matches!(c, b'\t' | b'\n' | 0x0b | 0x0c | b'\r' | b' ');
    let start = b.iter().position(|c| !is_sp(c)).unwrap_or(b.len());
    let end = b.iter().rposition(|c| !is_sp(c)).map_or(start, |e| e + 1);
    &b[start..end]
}

fn invalid(msg: String) -> Exit {
    Exit::error(EXIT_INVALID_INPUT, msg)
}

fn lossy(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// `parseCompare`.
pub fn parse_compare(line: &[u8]) -> Result<Compare, Exit> {
    let text = lossy(line);
    let Some(lparen) = line.iter().position(|&c| c == b'(') else {
        return Err(invalid(format!("malformed comparison: {text}")));
    };
    let target = lossy(&line[..lparen]);
    let values = sscanf(&line[lparen + 1..], "%q) %s %q");
    if values.len() != 3 {
        let get = |i: usize| values.get(i).cloned().unwrap_or_default();
        return Err(invalid(format!(
            "malformed comparison: {text}; got {target}({}) {} {}",
            quote(&get(0)),
            lossy(&get(1)),
            quote(&get(2))
        )));
    }
    let (key, op, val) = (values[0].clone(), lossy(&values[1]), values[2].clone());
    let int_val = || strconv::parse_int(&lossy(&val), 10).ok();
    let (cmp_target, union) = match target.as_str() {
        "ver" | "version" => (CompareTarget::Version, int_val().map(TargetUnion::Version)),
        "c" | "create" => (
            CompareTarget::Create,
            int_val().map(TargetUnion::CreateRevision),
        ),
        "m" | "mod" => (CompareTarget::Mod, int_val().map(TargetUnion::ModRevision)),
        "val" | "value" => (CompareTarget::Value, Some(TargetUnion::Value(val.clone()))),
        // etcdctl 3.4 hands the lease compare a string, which clientv3.Compare rejects.
        "lease" => {
            result_of(&op)?;
            return Err(Exit::panic("bad value"));
        }
        _ => {
            return Err(invalid(format!(
                "malformed comparison: {text} (unknown target {target})"
            )))
        }
    };
    let Some(union) = union else {
        return Err(invalid(format!("invalid txn compare request: {text}")));
    };
    Ok(Compare {
        result: result_of(&op)? as i32,
        target: cmp_target as i32,
        key,
        range_end: Vec::new(),
        target_union: Some(union),
    })
}

/// clientv3.Compare's operator (it panics on anything else).
fn result_of(op: &str) -> Result<CompareResult, Exit> {
    match op {
        "=" => Ok(CompareResult::Equal),
        "!=" => Ok(CompareResult::NotEqual),
        ">" => Ok(CompareResult::Greater),
        "<" => Ok(CompareResult::Less),
        _ => Err(Exit::panic("Unknown result op")),
    }
}

/// RE2's `\s`.
fn is_re_space(c: u8) -> bool {
    matches!(c, b'\t' | b'\n' | 0x0c | b'\r' | b' ')
}

/// The matches of etcdctl's `argify` regexp
/// `"(?:[^"\\]|\\.)*"|'[^']*'|[^'"\s]\S*[^'"\s]?` over `s`.
fn argify_matches(s: &[u8]) -> Vec<&[u8]> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < s.len() {
        let end = match s[i] {
            b'"' => {
                let mut j = i + 1;
                loop {
                    match s.get(j) {
                        None => break None,
                        Some(b'\\') if s.get(j + 1).is_some_and(|&c| c != b'\n') => j += 2,
                        Some(b'\\') => break None,
                        Some(b'"') => break Some(j + 1),
                        Some(_) => j += 1,
                    }
                }
            }
            b'\'' => s[i + 1..]
                .iter()
                .position(|&c| c == b'\'')
                .map(|p| i + p + 2),
            c if is_re_space(c) => None,
            _ => Some(
                s[i..]
                    .iter()
                    .position(|&c| is_re_space(c))
                    .map_or(s.len(), |p| i + p),
            ),
        };
        match end {
            Some(e) => {
                out.push(&s[i..e]);
                i = e;
            }
            None => i += 1,
        }
    }
    out
}

/// `argify`: splits a request line into arguments, unquoting quoted ones.
pub fn argify(s: &[u8]) -> Result<Vec<String>, Exit> {
    let matches = argify_matches(s);
    let n = matches.len();
    let mut args = Vec::with_capacity(n);
    for m in matches {
        let arg = match m.first() {
            // etcdctl slices with the number of arguments instead of the argument's length.
            Some(b'\'') => {
                let end = n.wrapping_sub(1);
                if end > m.len() {
                    return Err(Exit::panic(format!(
                        "runtime error: slice bounds out of range [:{end}] with length {}",
                        m.len()
                    )));
                }
                if end < 1 {
                    return Err(Exit::panic(format!(
                        "runtime error: slice bounds out of range [1:{end}]"
                    )));
                }
                lossy(&m[1..end])
            }
            Some(b'"') => {
                let unquoted = std::str::from_utf8(m).ok().and_then(unquote);
                lossy(&unquoted.ok_or_else(|| invalid("invalid syntax".to_string()))?)
            }
            _ => lossy(m),
        };
        args.push(arg);
    }
    Ok(args)
}

/// `parseRequestUnion`: one request line run through put/get/del's own flag parsing.
/// `stdin_rest` reads what is left of stdin (for `put` without a value).
pub fn parse_request(line: &[u8], stdin_rest: impl FnOnce() -> Vec<u8>) -> Result<RequestOp, Exit> {
    let text = lossy(line);
    let args = argify(line)?;
    if args.len() < 2 {
        return Err(invalid(format!("invalid txn compare request: {text}")));
    }
    let invalid_request = || invalid(format!("invalid txn request: {text}"));
    let (path, rest, err) = command::find(&TXN_ROOT, &args);
    if err.is_some() {
        return Err(invalid_request());
    }
    let name = path.key();
    if !matches!(name.as_str(), "put" | "get" | "del") {
        // cobra would print help or a completion script and etcdctl then waits forever for
        // an operation that never comes; Go's runtime aborts that deadlock.
        return Err(Exit {
            code: 2,
            stderr: "fatal error: all goroutines are asleep - deadlock!\n\ngoroutine 1 [chan receive]:\n".into(),
        });
    }
    let mut fs = path.flag_set();
    let positional = match fs.parse(&rest) {
        Ok(p) => p,
        Err(_) => {
            out::stderr(format!("{}\n", cobra_usage::render(&path)));
            return Err(invalid_request());
        }
    };
    if fs.get_bool("help") {
        return Err(Exit {
            code: 2,
            stderr: "fatal error: all goroutines are asleep - deadlock!\n\ngoroutine 1 [chan receive]:\n".into(),
        });
    }
    let request = match name.as_str() {
        "put" => Request::RequestPut(put_op(&positional, &fs, stdin_rest)?),
        "get" => Request::RequestRange(get_op(&positional, &fs)?),
        _ => Request::RequestDeleteRange(del_op(&positional, &fs)?),
    };
    Ok(RequestOp {
        request: Some(request),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strs(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn argify_like_etcdctl() {
        assert_eq!(
            argify(b"put foo bar").unwrap(),
            strs(&["put", "foo", "bar"])
        );
        assert_eq!(
            argify(b"put \"a b\" \"c\\nd\"").unwrap(),
            strs(&["put", "a b", "c\nd"])
        );
        // Single quotes are cut at len(args)-1 (here 3-1=2): 'xy' -> "x".
        assert_eq!(argify(b"put 'xy' v").unwrap(), strs(&["put", "x", "v"]));
        assert_eq!(
            argify(b"get  k  --prefix").unwrap(),
            strs(&["get", "k", "--prefix"])
        );
        assert!(argify(b"put \"\\q\" v").is_err());
    }

    #[test]
    fn compares() {
        let c = parse_compare(b"mod(\"k\") > \"5\"").unwrap();
        assert_eq!(c.target, CompareTarget::Mod as i32);
        assert_eq!(c.result, CompareResult::Greater as i32);
        assert_eq!(c.target_union, Some(TargetUnion::ModRevision(5)));
        let e = parse_compare(b"value(\"k\")= \"v\"").unwrap_err();
        assert_eq!(
            e.stderr,
            "Error: malformed comparison: value(\"k\")= \"v\"; got value(\"k\")  \"\"\n"
        );
        assert_eq!(e.code, 3);
        let e = parse_compare(b"ver(\"k\") = \"x\"").unwrap_err();
        assert_eq!(
            e.stderr,
            "Error: invalid txn compare request: ver(\"k\") = \"x\"\n"
        );
        let e = parse_compare(b"foo(\"k\") = \"x\"").unwrap_err();
        assert_eq!(
            e.stderr,
            "Error: malformed comparison: foo(\"k\") = \"x\" (unknown target foo)\n"
        );
        assert_eq!(
            parse_compare(b"nope").unwrap_err().stderr,
            "Error: malformed comparison: nope\n"
        );
    }

    #[test]
    fn requests() {
        let op = parse_request(b"p k v --prev-kv", Vec::new).unwrap();
        match op.request {
            Some(Request::RequestPut(p)) => {
                assert_eq!(
                    (p.key, p.value, p.prev_kv),
                    (b"k".to_vec(), b"v".to_vec(), true)
                );
            }
            other => panic!("unexpected {other:?}"),
        }
        assert_eq!(
            parse_request(b"get", Vec::new).unwrap_err().stderr,
            "Error: invalid txn compare request: get\n"
        );
        assert_eq!(
            parse_request(b"foo bar", Vec::new).unwrap_err().stderr,
            "Error: invalid txn request: foo bar\n"
        );
    }
}
