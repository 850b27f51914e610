//! go-humanize's `Bytes` (SI units), used for "db size" in endpoint status tables.

/// `humanize.Bytes(n)`: `"20 kB"`, `"1.5 MB"`, `"7 B"`.
pub fn bytes(n: u64) -> String {
    const SIZES: [&str; 7] = ["B", "kB", "MB", "GB", "TB", "PB", "EB"];
    if n < 10 {
        return format!("{n} B");
    }
    let mut e = 0usize;
    let mut unit = 1u64;
    while e + 1 < SIZES.len() && n / unit >= 1000 {
        unit *= 1000;
        e += 1;
    }
    let val = (n as f64 / unit as f64 * 10.0 + 0.5).floor() / 10.0;
    if val < 10.0 {
        format!("{val:.1} {}", SIZES[e])
    } else {
        format!("{val:.0} {}", SIZES[e])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_like_go_humanize() {
        assert_eq!(bytes(0), "0 B");
        assert_eq!(bytes(9), "9 B");
        assert_eq!(bytes(999), "999 B");
        assert_eq!(bytes(20480), "20 kB");
        assert_eq!(bytes(16384), "16 kB");
        assert_eq!(bytes(1_536_000), "1.5 MB");
        assert_eq!(bytes(2_147_483_648), "2.1 GB");
    }
}
