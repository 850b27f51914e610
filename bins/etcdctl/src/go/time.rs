//! Local wall-clock timestamps in the layouts etcd's loggers use.

use std::time::{SystemTime, UNIX_EPOCH};

/// Broken-down local time.
struct Tm {
    year: i64,
    month: i64,
    day: i64,
    hour: i64,
    min: i64,
    sec: i64,
    micros: i64,
    offset_secs: i64,
}

fn now() -> Tm {
    let since = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    let secs = since.as_secs() as libc::time_t;
    // SAFETY: localtime_r only writes into the zeroed `tm` we own.
    let mut tm: libc::tm = unsafe { std::mem::zeroed() };
    let ok = unsafe { !libc::localtime_r(&secs, &mut tm).is_null() };
    if !ok {
        return Tm {
            year: 1970,
            month: 1,
            day: 1,
            hour: 0,
            min: 0,
            sec: 0,
            micros: 0,
            offset_secs: 0,
        };
    }
    Tm {
        year: i64::from(tm.tm_year) + 1900,
        month: i64::from(tm.tm_mon) + 1,
        day: i64::from(tm.tm_mday),
        hour: i64::from(tm.tm_hour),
        min: i64::from(tm.tm_min),
        sec: i64::from(tm.tm_sec),
        micros: i64::from(since.subsec_micros()),
        offset_secs: tm.tm_gmtoff,
    }
}

/// capnslog's layout: `2006-01-02 15:04:05.000000`.
pub fn capnslog_now() -> String {
    let t = now();
    format!(
        "{:04}-{:02}-{:02} {:02}:{:02}:{:02}.{:06}",
        t.year, t.month, t.day, t.hour, t.min, t.sec, t.micros
    )
}

/// zap's ISO8601 layout: `2006-01-02T15:04:05.000Z0700`.
pub fn zap_now() -> String {
    let t = now();
    let zone = if t.offset_secs == 0 {
        "Z".to_string()
    } else {
        let sign = if t.offset_secs < 0 { '-' } else { '+' };
        let off = t.offset_secs.abs();
        format!("{sign}{:02}{:02}", off / 3600, (off % 3600) / 60)
    };
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}{zone}",
        t.year,
        t.month,
        t.day,
        t.hour,
        t.min,
        t.sec,
        t.micros / 1000
    )
}
