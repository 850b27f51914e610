//! `txn` from stdin, interactive and not, in every output format, and its parse errors.

mod support;

use support::ctl::Case;
use support::server::Pair;

const FORMATS: [&str; 5] = ["simple", "json", "fields", "protobuf", "table"];

fn seed(ep: &str) {
    for (k, v) in [("a", "1"), ("b", "2"), ("foo1", "x"), ("foo2", "y")] {
        let out = support::ctl::run(
            support::ctl::REAL,
            &[
                format!("--endpoints={ep}"),
                "put".into(),
                k.into(),
                v.into(),
            ],
            &[],
            b"",
        );
        assert_eq!(out.code, Some(0));
    }
}

#[test]
fn transactions_in_every_format() {
    let pair = Pair::new(seed);
    let check = |c: Case| {
        c.check(&pair.real.endpoint, &pair.ours.endpoint);
    };
    let scripts = [
        // success branch with every request type
        "mod(\"a\") > \"0\"\n\nget a\nget foo --prefix --keys-only\nput c 3 --prev-kv\ndel b --prev-kv\n\nget a\n\n",
        // failure branch
        "value(\"a\") = \"nope\"\nver(\"b\") != \"0\"\n\nput never 1\n\nget \"\" --from-key --limit=1 --order=DESCEND\nput \"spaced key\" \"quoted \\\"value\\\"\"\n\n",
        // no compares, empty branches
        "\n\n\n",
        "c(\"a\") < \"100\"\nm(\"zz\") = \"0\"\nversion(\"a\") > \"0\"\ncreate(\"a\") != \"5\"\nval(\"a\") > \"0\"\n\np short 1\ng short\nd short\n\n\n",
    ];
    for script in scripts {
        for f in FORMATS {
            check(Case::new(&["-w", f, "txn"]).stdin(script));
        }
        check(Case::new(&["txn", "-i"]).stdin(script));
        check(Case::new(&["txn", "--interactive=true", "-w", "json"]).stdin(script));
    }
    // The server rejects a txn that puts and deletes the same key.
    check(Case::new(&["txn"]).stdin("\nput a 1\ndel a\n\n\n"));
}

#[test]
fn transaction_syntax_errors() {
    let pair = Pair::new(seed);
    let check = |c: Case| {
        c.check(&pair.real.endpoint, &pair.ours.endpoint);
    };
    for script in [
        "",
        "mod(\"a\") > \"0\"",
        "\n\nget a",
        "nope\n\n\n\n",
        "mod(\"a\")>\"0\"\n\n\n\n",
        "mod(\"a\" ) > \"0\"\n\n\n\n",
        "mod(a) > \"0\"\n\n\n\n",
        "mod(\"a\") > 0\n\n\n\n",
        "mod(\"a\") > \"x\"\n\n\n\n",
        "size(\"a\") > \"0\"\n\n\n\n",
        "\nget\n\n\n",
        "\nfoo bar\n\n\n",
        "\nget a --bad-flag\n\n\n",
        "\nput k v --lease=zz\n\n\n",
        "\nget a --prefix --from-key\n\n\n",
        "\nput \"bad\\q\" v\n\n\n",
        "\ndel a b c\n\n\n",
        "\nput k\n\n\n",
    ] {
        check(Case::new(&["txn"]).stdin(script));
        check(Case::new(&["txn", "-i"]).stdin(script));
    }
}
