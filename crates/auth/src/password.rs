//! bcrypt password hashes, as etcd stores them (`authpb.User.password`). Hashing and
//! checking are deliberately slow: call them off the async runtime and off the apply path.

use crate::AuthError;

/// etcd's `--bcrypt-cost` default (Go's `bcrypt.DefaultCost`).
pub const DEFAULT_COST: u32 = 10;
/// Go's `bcrypt.MinCost` and `MaxCost`: other values fall back to the default, as etcd.
pub const MIN_COST: u32 = 4;
pub const MAX_COST: u32 = 31;

/// The cost etcd would use for `--bcrypt-cost cost`.
pub fn effective_cost(cost: u32) -> u32 {
    if (MIN_COST..=MAX_COST).contains(&cost) {
        cost
    } else {
        DEFAULT_COST
    }
}

/// The bcrypt hash of `password` (`$2a$` like Go's, so etcd can check it too).
pub fn hash(password: &str, cost: u32) -> Result<String, AuthError> {
    bcrypt::hash_with_result(password, effective_cost(cost))
        .map(|h| h.format_for_version(bcrypt::Version::TwoA))
        .map_err(|e| AuthError::Hash(e.to_string()))
}

/// Whether `password` matches `hashed` (false for a malformed hash).
pub fn verify(password: &str, hashed: &[u8]) -> bool {
    std::str::from_utf8(hashed)
        .ok()
        .and_then(|h| bcrypt::verify(password, h).ok())
        .unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_verifies_and_wrong_password_does_not() {
        let h = hash("secret", MIN_COST).unwrap();
        assert!(h.starts_with("$2a$04$"), "{h}");
        assert!(verify("secret", h.as_bytes()));
        assert!(!verify("Secret", h.as_bytes()));
        assert!(!verify("secret", b"not a hash"));
        assert!(!verify("secret", &[0xff, 0xfe]));
    }

    #[test]
    fn out_of_range_costs_fall_back_to_the_default() {
        assert_eq!(effective_cost(0), DEFAULT_COST);
        assert_eq!(effective_cost(3), DEFAULT_COST);
        assert_eq!(effective_cost(32), DEFAULT_COST);
        assert_eq!(effective_cost(12), 12);
    }
}
