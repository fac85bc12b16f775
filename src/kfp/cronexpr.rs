//! KFP's cron dialect (robfig/cron v1.2.0 as the scheduled-workflow controller reads it):
//! 6 fields, seconds first, day-of-week 0-6 with 0 = Sunday, or a descriptor (`@daily`,
//! `@every 1h30m`). A 5-field crontab line is refused, since KFP would silently read it
//! shifted by one field. Fire times are computed with the `cron` crate (whose day-of-week is
//! 1-7 with 1 = Sunday: translated).
//!
//! Each field is first checked as robfig's `parser.go` (`getRange`) reads it: ranges per field
//! (seconds and minutes 0-59, hours 0-23, day of month 1-31, month 1-12 or JAN-DEC, day of
//! week 0-6 or SUN-SAT), steps positive, `N/step` meaning `N-max/step`. An expression that
//! can never fire (`0 0 2 31 2 *`: 31 February) is refused: the controller would keep it
//! forever without a run. robfig matches a day when the day of month OR the day of week
//! matches if both are restricted (`dayMatches` in `spec.go`; a field starting with `*` or `?`
//! is unrestricted), so the days are checked, and fire times computed, the same way.

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
    /// Translated for the `cron` crate; fire times are the union of the schedules (two when
    /// robfig ORs day of month and day of week).
    Fields(Vec<String>),
    Every(Duration),
}

/// robfig's fields: name, min, max, names.
const FIELDS: [(&str, u32, u32, &[&str]); 6] = [
    ("second", 0, 59, &[]),
    ("minute", 0, 59, &[]),
    ("hour", 0, 23, &[]),
    ("day-of-month", 1, 31, &[]),
    (
        "month",
        1,
        12,
        &[
            "JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC",
        ],
    ),
    (
        "day-of-week",
        0,
        6,
        &["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"],
    ),
];

/// One field as robfig reads it: the set of values (bit `n` = value `n`) and whether it is
/// unrestricted (starts with `*` or `?`).
fn parse_field(field: &str, index: usize) -> Result<(u64, bool), String> {
    let (name, min, max, names) = FIELDS[index];
    let value = |s: &str| -> Result<u32, String> {
        if let Some(i) = names.iter().position(|n| n.eq_ignore_ascii_case(s)) {
            return Ok(i as u32 + min);
        }
        s.parse::<u32>().map_err(|_| {
            let extra = if names.is_empty() {
                String::new()
            } else {
                format!(" or {}-{}", names[0], names[names.len() - 1])
            };
            format!("the {name} field: '{s}' is not a number {min}-{max}{extra}")
        })
    };
    let mut bits = 0u64;
    let mut star = false;
    for item in field.split(',') {
        let (range, step) = match item.split_once('/') {
            Some((r, s)) => (r, Some(s)),
            None => (item, None),
        };
        let (start, end, item_star) = if range == "*" || range == "?" {
            (min, max, true)
        } else {
            match range.split_once('-') {
                Some((a, b)) => (value(a)?, value(b)?, false),
                None => {
                    let a = value(range)?;
                    // robfig: "N/step" means "N-max/step"
                    (a, if step.is_some() { max } else { a }, false)
                }
            }
        };
        for v in [start, end] {
            if v < min || v > max {
                return Err(format!(
                    "the {name} field: {v} is out of range, use {min}-{max}"
                ));
            }
        }
        if start > end {
            return Err(format!(
                "the {name} field: the range {start}-{end} runs backwards"
            ));
        }
        let step = match step {
            None => 1,
            Some(s) => match s.parse::<u32>() {
                Ok(n) if n > 0 => n,
                _ => {
                    return Err(format!(
                        "the {name} field: the step '/{s}' must be a positive number"
                    ))
                }
            },
        };
        star |= item_star;
        let mut v = start;
        while v <= end {
            bits |= 1 << v;
            v += step;
        }
    }
    Ok((bits, star))
}

/// Whether some month of `months` has a day in `days` (February has 29 in leap years).
fn some_day_exists(days: u64, months: u64) -> bool {
    const LENGTH: [u32; 12] = [31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
    (1..=12u32).any(|m| {
        months & (1 << m) != 0 && (1..=LENGTH[m as usize - 1]).any(|d| days & (1 << d) != 0)
    })
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
                ("yearly" | "annually", 1) => Kind::Fields(vec!["0 0 0 1 1 *".into()]),
                ("monthly", 1) => Kind::Fields(vec!["0 0 0 1 * *".into()]),
                ("weekly", 1) => Kind::Fields(vec!["0 0 0 * * 1".into()]),
                ("daily" | "midnight", 1) => Kind::Fields(vec!["0 0 0 * * *".into()]),
                ("hourly", 1) => Kind::Fields(vec!["0 0 * * * *".into()]),
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
        let mut sets = Vec::with_capacity(6);
        for (i, f) in fields.iter().enumerate() {
            sets.push(
                parse_field(f, i)
                    .map_err(|e| format!("{text:?} is not a valid KFP cron expression: {e}"))?,
            );
        }
        let (dom, dom_star) = sets[3];
        let (months, _) = sets[4];
        let (_, dow_star) = sets[5];
        let days_or = !dom_star && !dow_star;
        if !days_or && !some_day_exists(dom, months) {
            return Err(format!(
                "{text:?} never fires: no month it names has that day of the month; KFP would \
                 keep the schedule without ever starting a run"
            ));
        }
        let dow = shift_weekdays(fields[5]).ok_or_else(|| {
            format!(
                "the day-of-week field '{}' of {text:?} is not valid: use 0-6 (0 = Sunday), \
                 SUN-SAT, ranges, lists, steps, * or ?",
                fields[5]
            )
        })?;
        let with = |dom: &str, dow: &str| {
            format!(
                "{} {} {} {dom} {} {dow}",
                fields[0], fields[1], fields[2], fields[4]
            )
        };
        let schedules = if days_or {
            // robfig: either day field matching is enough
            let mut v = vec![with("*", &dow)];
            if some_day_exists(dom, months) {
                v.push(with(fields[3], "*"));
            }
            v
        } else {
            vec![with(fields[3], &dow)]
        };
        for s in &schedules {
            cron::Schedule::from_str(s)
                .map_err(|e| format!("{text:?} is not a valid KFP cron expression: {e}"))?;
        }
        Ok(CronExpr {
            text,
            kind: Kind::Fields(schedules),
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
            Kind::Fields(fs) => {
                let mut all: Vec<DateTime<Utc>> = fs
                    .iter()
                    .filter_map(|f| cron::Schedule::from_str(f).ok())
                    .flat_map(|s| s.after(&after).take(n).collect::<Vec<_>>())
                    .collect();
                all.sort();
                all.dedup();
                all.truncate(n);
                all
            }
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

/// A Go duration (`time.ParseDuration`, as robfig/cron `@every` reads it: `1h30m`, `15m`,
/// `90s`, `1.5h`), at least 1s.
fn parse_go_duration(s: &str) -> Option<Duration> {
    let total = crate::config::GoDuration::parse(s).ok()?.seconds;
    // Go's time.Duration is int64 nanoseconds: a longer `@every` is refused by KFP's parser
    // (robfig/cron via time.ParseDuration), so it is refused here, before any request.
    if !(1.0..=MAX_EVERY_SECS).contains(&total) {
        return None;
    }
    Some(Duration::milliseconds((total * 1000.0) as i64))
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
    fn range_messages_name_the_field_and_its_real_range() {
        let e = CronExpr::parse("60 * * * * *").unwrap_err();
        assert!(
            e.contains("the second field: 60 is out of range, use 0-59"),
            "{e}"
        );
        assert!(
            CronExpr::parse("59 59 23 31 12 6").is_ok(),
            "maxima are valid"
        );
        let e = CronExpr::parse("0 0 0 0 * *").unwrap_err();
        assert!(
            e.contains("day-of-month field: 0 is out of range, use 1-31"),
            "{e}"
        );
        let e = CronExpr::parse("0 0 0 * 13 *").unwrap_err();
        assert!(
            e.contains("month field: 13 is out of range, use 1-12"),
            "{e}"
        );
        let e = CronExpr::parse("*/0 * * * * *").unwrap_err();
        assert!(e.contains("step '/0' must be a positive number"), "{e}");
        let e = CronExpr::parse("0 30-10 * * * *").unwrap_err();
        assert!(e.contains("runs backwards"), "{e}");
        let e = CronExpr::parse("0 0 0 * FOO *").unwrap_err();
        assert!(e.contains("'FOO' is not a number 1-12 or JAN-DEC"), "{e}");
        assert!(CronExpr::parse("0 0 0 1 jan-mar MON-FRI").is_ok());
    }

    #[test]
    fn expressions_that_never_fire_are_refused() {
        for never in ["0 0 2 31 2 *", "0 0 0 30,31 2 ?", "0 0 0 31 4,6,9,11 *"] {
            let e = CronExpr::parse(never).unwrap_err();
            assert!(e.contains("never fires"), "{never}: {e}");
        }
        // 29 February fires in leap years
        let c = CronExpr::parse("0 0 0 29 2 *").unwrap();
        assert_eq!(
            c.next_times(t("2026-01-01T00:00:00Z"), None, 1),
            vec![t("2028-02-29T00:00:00Z")]
        );
        // robfig ORs restricted day fields: 31 February or any Monday in February
        let c = CronExpr::parse("0 0 0 31 2 1").unwrap();
        assert_eq!(
            c.next_times(t("2026-01-01T00:00:00Z"), None, 1),
            vec![t("2026-02-02T00:00:00Z")]
        );
        // and either field suffices: the 1st, or Mondays
        let c = CronExpr::parse("0 0 0 1 * 1").unwrap();
        assert_eq!(
            c.next_times(t("2026-03-01T05:00:00Z"), None, 2),
            vec![t("2026-03-02T00:00:00Z"), t("2026-03-09T00:00:00Z")]
        );
    }

    #[test]
    fn huge_every_durations_are_refused_not_a_panic() {
        assert!(CronExpr::parse("@every 1000000000h").is_err());
        let c = CronExpr::parse("@every 2562047h").unwrap();
        let _ = c.next_times(t("2026-01-01T00:00:00Z"), None, 1000);
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
}
