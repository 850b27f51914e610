//! Interop with the real etcd 3.4.23: tokens etcd issues pass our `info`, tokens our `assign`
//! issues pass etcd's auth, and etcd refuses corrupted ones and ones of another key.

#[path = "support/etcd.rs"]
mod etcd;
#[path = "support/fixtures.rs"]
mod fixtures;

use auth_jwt::JwtTokens;
use etcd::Etcd;
use fixtures::options;

/// etcd's auth store revision after setup: 1 when the store is created, +1 for user add,
/// +1 for grant-role (auth enable does not count: `authStore.AuthEnable`).
const AUTH_REVISION: u64 = 3;

/// etcd's errors (`rpctypes.ErrGRPCInvalidAuthToken`, `ErrGRPCAuthOldRevision`).
const INVALID_TOKEN: &str = "etcdserver: invalid auth token";
const OLD_REVISION: &str = "etcdserver: revision of auth store is old";

/// Starts etcd with `--auth-token jwt,<options>`, enables auth with the real etcdctl, and
/// checks tokens both ways. `other_key` is a key etcd must not accept tokens of.
async fn interop(method: &str, priv_key: &str, pub_key: &str, other_key: &str) {
    let opts = options(method, priv_key, pub_key);
    let ours = JwtTokens::from_options(&opts).expect("our options");
    let etcd = Etcd::start(&format!("jwt,{opts}")).await;
    etcd.etcdctl(&["user", "add", "root:pw"]).await;
    etcd.etcdctl(&["user", "grant-role", "root", "root"]).await;
    etcd.etcdctl(&["auth", "enable"]).await;

    // etcd's token passes our info(), with its user and auth revision.
    let theirs = etcd.authenticate("root", "pw").await.expect("Authenticate");
    let expected = Some(("root".to_string(), AUTH_REVISION));
    assert_eq!(ours.info(&theirs), expected, "etcd's token {theirs}");
    if !pub_key.is_empty() {
        let verify_only = JwtTokens::from_options(&options(method, "", pub_key)).unwrap();
        assert_eq!(verify_only.info(&theirs), expected, "verify-only");
    }
    etcd.range(Some(&theirs)).await.expect("etcd's own token");

    // Our token passes etcd's auth; etcd reads its revision.
    let token = ours.assign("root", AUTH_REVISION).unwrap();
    if let Err(status) = etcd.range(Some(&token)).await {
        panic!("etcd refused our token {token}: {status:?}\n{}", etcd.log());
    }
    let old = ours.assign("root", AUTH_REVISION - 1).unwrap();
    let status = etcd.range(Some(&old)).await.expect_err("old revision");
    assert_eq!(status.message(), OLD_REVISION);

    // A corrupted token, and one signed with another key, are refused.
    let status = etcd
        .range(Some(&corrupt(&token)))
        .await
        .expect_err("corrupted token accepted");
    assert_eq!(status.message(), INVALID_TOKEN);
    let foreign = JwtTokens::from_options(&options(method, other_key, ""))
        .unwrap()
        .assign("root", AUTH_REVISION)
        .unwrap();
    assert_eq!(ours.info(&foreign), None);
    let status = etcd
        .range(Some(&foreign))
        .await
        .expect_err("foreign token accepted");
    assert_eq!(status.message(), INVALID_TOKEN);
}

/// `token` with one signature character changed (not the last, whose low bits may be unused).
fn corrupt(token: &str) -> String {
    let mut bytes = token.as_bytes().to_vec();
    let i = bytes.len() - 5;
    bytes[i] = if bytes[i] == b'A' { b'B' } else { b'A' };
    String::from_utf8(bytes).expect("ASCII")
}

#[tokio::test]
async fn rs256_with_etcd() {
    interop("RS256", "rsa.key", "rsa.crt", "rsa-other.key").await;
}

#[tokio::test]
async fn ps384_with_etcd() {
    interop("PS384", "rsa-pkcs8.key", "rsa.pub", "rsa-other.key").await;
}

#[tokio::test]
async fn es256_with_etcd() {
    interop("ES256", "ec256.key", "ec256.crt", "ec256-other.key").await;
}

#[tokio::test]
async fn es384_with_etcd() {
    interop("ES384", "ec384.key", "ec384.pub", "ec384-other.key").await;
}

#[tokio::test]
async fn es512_with_etcd() {
    interop("ES512", "ec521.key", "ec521.pub", "ec521-other.key").await;
}

#[tokio::test]
async fn hs512_with_etcd() {
    interop("HS512", "hmac.secret", "", "hmac-other.secret").await;
}
