//! KFP's cron dialect (robfig/cron v1.2.0 as the scheduled-workflow controller reads it):
//! 6 fields, seconds first, day-of-week 0-6 with 0 = Sunday, or a descriptor (`@daily`,
//! `@every 1h30m`). A 5-field crontab line is refused, since KFP would silently read it
//! shifted by one field. Fire times are computed with the `cron` crate (whose day-of-week is
//! 1-7 with 1 = Sunday: translated).

use std::str::FromStr;

use chrono::{DateTime, Duration, Utc};

/// A cron expression KFP accepts, validated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CronExpr {
    /// As sent to KFP (whitespace normalised).
    text: String,
    kind: Kind,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Kind {
    /// Translated for the `cron` crate.
    Fields(String),
    Every(Duration),
}

impl CronExpr {
    pub fn parse(raw: &str) -> Result<CronExpr, String> {
        let fields: Vec<&str> = raw.split_whitespace().collect();
        let text = fields.join(" ");
        if fields.is_empty() {
            return Err(
                "the cron expression is empty; KFP wants 6 fields, seconds first \
                        (e.g. '0 0 4 * * *' = 04:00 every day)"
                    .into(),
            );
        }
        if let Some(descriptor) = fields[0].strip_prefix('@') {
            let kind = match (descriptor.to_ascii_lowercase().as_str(), fields.len()) {
                ("every", 2) => Kind::Every(parse_go_duration(fields[1]).ok_or_else(|| {
                    format!(
                        "'{}' in {text:?} is not a duration like 1h30m, 15m or 90s (at least \
                         1s, at most 2562047h, Go's limit)",
                        fields[1]
                    )
                })?),
                ("yearly" | "annually", 1) => Kind::Fields("0 0 0 1 1 *".into()),
                ("monthly", 1) => Kind::Fields("0 0 0 1 * *".into()),
                ("weekly", 1) => Kind::Fields("0 0 0 * * 1".into()),
                ("daily" | "midnight", 1) => Kind::Fields("0 0 0 * * *".into()),
                ("hourly", 1) => Kind::Fields("0 0 * * * *".into()),
                _ => {
                    return Err(format!(
                        "{text:?} is not a cron descriptor KFP knows: use @yearly, @monthly, \
                         @weekly, @daily, @hourly or @every <duration>"
                    ))
                }
            };
            return Ok(CronExpr { text, kind });
        }
        match fields.len() {
            6 => {}
            5 => {
                return Err(format!(
                    "{text:?} has 5 fields, but KFP reads cron with seconds first and would \
                     run it at a different time; for the usual crontab meaning use \
                     '0 {text}' (6 fields: second minute hour day-of-month month day-of-week)"
                ))
            }
            n => {
                return Err(format!(
                    "{text:?} has {n} fields; KFP wants exactly 6, seconds first: second \
                     minute hour day-of-month month day-of-week (e.g. '0 0 4 * * *' = 04:00 \
                     every day)"
                ))
            }
        }
        let mut translated: Vec<String> = fields[..5].iter().map(|f| f.to_string()).collect();
        translated.push(shift_weekdays(fields[5]).ok_or_else(|| {
            format!(
                "the day-of-week field '{}' of {text:?} is not valid: use 0-6 (0 = Sunday), \
                 SUN-SAT, ranges, lists, steps, * or ?",
                fields[5]
            )
        })?);
        let translated = translated.join(" ");
        cron::Schedule::from_str(&translated)
            .map_err(|e| format!("{text:?} is not a valid KFP cron expression: {e}"))?;
        Ok(CronExpr {
            text,
            kind: Kind::Fields(translated),
        })
    }

    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The next `n` fire times strictly after `after` (and not after `end`), in UTC.
    pub fn next_times(
        &self,
        after: DateTime<Utc>,
        end: Option<DateTime<Utc>>,
        n: usize,
    ) -> Vec<DateTime<Utc>> {
        let times: Vec<DateTime<Utc>> = match &self.kind {
            Kind::Fields(f) => match cron::Schedule::from_str(f) {
                Ok(s) => s.after(&after).take(n).collect(),
                Err(_) => Vec::new(),
            },
            // Checked: a far fire time ends the list instead of overflowing.
            Kind::Every(d) => (1..=i32::try_from(n).unwrap_or(i32::MAX))
                .map_while(|k| d.checked_mul(k).and_then(|dk| after.checked_add_signed(dk)))
                .collect(),
        };
        times
            .into_iter()
            .filter(|t| end.is_none_or(|e| *t <= e))
            .collect()
    }
}

/// robfig day-of-week (0-6, Sunday = 0) → `cron` crate (1-7, Sunday = 1): every number that
/// is a day (not a step after `/`) moves up by one. `None` if a number is out of range.
fn shift_weekdays(field: &str) -> Option<String> {
    let mut parts = Vec::new();
    for item in field.split(',') {
        let (range, step) = match item.split_once('/') {
            Some((r, s)) => (r, Some(s)),
            None => (item, None),
        };
        let shifted = range
            .split('-')
            .map(|d| match d.parse::<u32>() {
                Ok(n) if n <= 6 => Some((n + 1).to_string()),
                Ok(_) => None,
                Err(_) => Some(d.to_string()),
            })
            .collect::<Option<Vec<_>>>()?
            .join("-");
        parts.push(match step {
            Some(s) => format!("{shifted}/{s}"),
            None => shifted,
        });
    }
    Some(parts.join(","))
}

/// The longest Go duration (`math.MaxInt64` nanoseconds, about 292 years), in seconds.
const MAX_EVERY_SECS: f64 = 9_223_372_036.0;

/// Go's `time.ParseDuration` subset `@every` uses: `1h30m`, `15m`, `90s`, `1.5h`.
fn parse_go_duration(s: &str) -> Option<Duration> {
    let mut total = 0f64;
    let mut num = String::new();
    let mut any = false;
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        if c.is_ascii_digit() || c == '.' {
            num.push(c);
            continue;
        }
        let unit = if c == 'm' && chars.peek() == Some(&'s') {
            chars.next();
            0.001
        } else {
            match c {
                'h' => 3600.0,
                'm' => 60.0,
                's' => 1.0,
                _ => return None,
            }
        };
        total += num.parse::<f64>().ok()? * unit;
        num.clear();
        any = true;
    }
    // Go's time.Duration is int64 nanoseconds: a longer `@every` is refused by KFP's parser
    // (robfig/cron via time.ParseDuration), so it is refused here, before any request.
    if !num.is_empty() || !any || !(1.0..=MAX_EVERY_SECS).contains(&total) {
        return None;
    }
    Some(Duration::milliseconds((total * 1000.0) as i64))
}

/// An RFC 3339 time from a flag or the config, normalised to UTC (`2026-01-01T00:00:00Z`).
pub fn parse_time(raw: &str, what: &str) -> Result<DateTime<Utc>, String> {
    DateTime::parse_from_rfc3339(raw.trim())
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| {
            format!("{what} {raw:?} is not an RFC 3339 time like 2026-01-01T04:00:00Z ({e})")
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn t(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn six_fields_are_accepted_and_fire_as_kfp_reads_them() {
        let c = CronExpr::parse("0 0 4 * * *").unwrap();
        assert_eq!(c.as_str(), "0 0 4 * * *");
        let next = c.next_times(t("2026-03-01T05:00:00Z"), None, 3);
        assert_eq!(
            next,
            vec![
                t("2026-03-02T04:00:00Z"),
                t("2026-03-03T04:00:00Z"),
                t("2026-03-04T04:00:00Z")
            ]
        );
    }

    #[test]
    fn weekdays_use_robfig_numbering() {
        // 2026-03-01 is a Sunday. '1-5' = Monday to Friday in KFP.
        let c = CronExpr::parse("0 30 9 * * 1-5").unwrap();
        let next = c.next_times(t("2026-03-01T00:00:00Z"), None, 1);
        assert_eq!(next, vec![t("2026-03-02T09:30:00Z")]);
        assert_eq!(
            next[0].format("%a").to_string(),
            "Mon",
            "1 must be Monday as in robfig/cron"
        );
        let sunday = CronExpr::parse("0 0 0 * * 0").unwrap();
        assert_eq!(
            sunday.next_times(t("2026-03-02T00:00:00Z"), None, 1),
            vec![t("2026-03-08T00:00:00Z")]
        );
        assert!(CronExpr::parse("0 0 0 * * 7").is_err());
        assert_eq!(shift_weekdays("*/2").unwrap(), "*/2");
        assert_eq!(shift_weekdays("0,6").unwrap(), "1,7");
        assert_eq!(shift_weekdays("MON-FRI").unwrap(), "MON-FRI");
    }

    #[test]
    fn five_fields_are_refused_with_the_six_field_equivalent() {
        let err = CronExpr::parse("0 2 * * *").unwrap_err();
        assert!(err.contains("5 fields"), "{err}");
        assert!(err.contains("'0 0 2 * * *'"), "{err}");
    }

    #[test]
    fn seven_fields_and_nonsense_are_refused() {
        let err = CronExpr::parse("0 0 4 * * * 2027").unwrap_err();
        assert!(
            err.contains("7 fields") && err.contains("exactly 6"),
            "{err}"
        );
        let err = CronExpr::parse("every day at four").unwrap_err();
        assert!(err.contains("4 fields"), "{err}");
        let err = CronExpr::parse("0 0 25 * * *").unwrap_err();
        assert!(err.contains("not a valid KFP cron"), "{err}");
        assert!(CronExpr::parse("").is_err());
        assert!(CronExpr::parse("@fortnightly").is_err());
    }

    #[test]
    fn descriptors_work() {
        let d = CronExpr::parse("@daily").unwrap();
        assert_eq!(
            d.next_times(t("2026-03-01T05:00:00Z"), None, 1),
            vec![t("2026-03-02T00:00:00Z")]
        );
        let e = CronExpr::parse("@every 1h30m").unwrap();
        let start = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap();
        assert_eq!(
            e.next_times(start, None, 2),
            vec![t("2026-01-01T01:30:00Z"), t("2026-01-01T03:00:00Z")]
        );
        assert!(CronExpr::parse("@every soon").is_err());
    }

    #[test]
    fn end_time_cuts_the_list() {
        let c = CronExpr::parse("0 0 4 * * *").unwrap();
        let next = c.next_times(
            t("2026-03-01T05:00:00Z"),
            Some(t("2026-03-02T12:00:00Z")),
            3,
        );
        assert_eq!(next, vec![t("2026-03-02T04:00:00Z")]);
    }

    #[test]
    fn times_are_rfc3339() {
        assert_eq!(
            parse_time("2026-01-01T01:00:00+01:00", "--start-time").unwrap(),
            t("2026-01-01T00:00:00Z")
        );
        let err = parse_time("tomorrow", "--start-time").unwrap_err();
        assert!(
            err.contains("--start-time") && err.contains("RFC 3339"),
            "{err}"
        );
    }
}
