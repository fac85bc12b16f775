//! The config's typed scalars: a Kubernetes [`Quantity`], a Go [`GoDuration`], an ISO-8601
//! [`IsoDuration`] and an RFC 3339 [`Timestamp`], each parsed
//! once, when the config is typed (so a bad value is reported at its file:line:column by
//! `kfpx config --check` and by every command), and read by value afterwards. The compiler and
//! the schedule parser use these parsers; there is no other.

use std::fmt;

use serde::{Deserialize, Serialize};

/// A Kubernetes quantity written as a YAML string or number (`500m`, `2Gi`, `1`, `0.5`), never
/// negative. Rendered as written (the compiled documents carry the user's spelling).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum Quantity {
    Int(i64),
    Float(f64),
    Str(String),
}

impl Quantity {
    /// The amount (`500m` → 0.5, `1Gi` → 1073741824), to compare quantities.
    pub fn value(&self) -> f64 {
        match self {
            Quantity::Int(i) => *i as f64,
            Quantity::Float(f) => *f,
            // parsed when typed; a hand-built bad one counts as nothing
            Quantity::Str(s) => quantity_value(s).unwrap_or(0.0),
        }
    }
}

const QUANTITY_HELP: &str = "write e.g. 500m or 2 for CPU, 512Mi or 2Gi for memory, 1 for GPUs";

impl<'de> Deserialize<'de> for Quantity {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl serde::de::Visitor<'_> for V {
            type Value = Quantity;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a Kubernetes quantity such as 500m, 2Gi, 1 or 0.5")
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<Quantity, E> {
                if v < 0 {
                    return Err(E::custom(format!(
                        "`{v}` is not a Kubernetes quantity (it is negative); {QUANTITY_HELP}"
                    )));
                }
                Ok(Quantity::Int(v))
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<Quantity, E> {
                i64::try_from(v)
                    .map(Quantity::Int)
                    .map_err(|_| E::custom(format!("quantity {v} is too large")))
            }
            fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<Quantity, E> {
                if !(v.is_finite() && v >= 0.0) {
                    return Err(E::custom(format!(
                        "`{v}` is not a Kubernetes quantity; {QUANTITY_HELP}"
                    )));
                }
                Ok(Quantity::Float(v))
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Quantity, E> {
                match quantity_value(v) {
                    Some(_) => Ok(Quantity::Str(v.to_string())),
                    None => Err(E::custom(format!(
                        "`{v}` is not a Kubernetes quantity; {QUANTITY_HELP}"
                    ))),
                }
            }
        }
        d.deserialize_any(V)
    }
}

impl fmt::Display for Quantity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Quantity::Int(i) => write!(f, "{i}"),
            Quantity::Float(x) => write!(f, "{x}"),
            Quantity::Str(s) => f.write_str(s),
        }
    }
}

/// The value of a non-negative Kubernetes quantity (`500m` → 0.5, `1Gi` → 1073741824,
/// `1e3` → 1000), or None when the text is not one: a decimal number with an optional SI or
/// binary suffix or exponent (apimachinery `pkg/api/resource/quantity.go`).
pub fn quantity_value(s: &str) -> Option<f64> {
    let s = s.strip_prefix('+').unwrap_or(s);
    let split = s
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(s.len());
    let (num, suffix) = s.split_at(split);
    if !num.chars().any(|c| c.is_ascii_digit()) || num.matches('.').count() > 1 {
        return None;
    }
    let n: f64 = num.parse().ok()?;
    let mult = match suffix {
        "" => 1.0,
        "n" => 1e-9,
        "u" => 1e-6,
        "m" => 1e-3,
        "k" => 1e3,
        "M" => 1e6,
        "G" => 1e9,
        "T" => 1e12,
        "P" => 1e15,
        "E" => 1e18,
        "Ki" => 1024.0,
        "Mi" => 1024f64.powi(2),
        "Gi" => 1024f64.powi(3),
        "Ti" => 1024f64.powi(4),
        "Pi" => 1024f64.powi(5),
        "Ei" => 1024f64.powi(6),
        e => {
            let exp = e.strip_prefix(['e', 'E'])?;
            let digits = exp.strip_prefix(['+', '-']).unwrap_or(exp);
            if digits.is_empty() || !digits.chars().all(|c| c.is_ascii_digit()) {
                return None;
            }
            10f64.powi(exp.parse::<i32>().ok()?)
        }
    };
    Some(n * mult)
}

/// A duration as Go's `time.ParseDuration` reads it (`60s`, `5m`, `1h30m`, `1.5h`, `500ms`,
/// or `0`), as Argo reads `retryStrategy.backoff` (argo-workflows
/// `pkg/apis/workflow/v1alpha1/workflow_types.go`) and robfig/cron `@every`. Never negative.
/// A bare number other than `0` is refused: Go needs the unit, and the KFP SDK's
/// `convert_duration_to_seconds` (kfp `sdk/python/kfp/dsl/structures.py`) reads it from the
/// last letter and refuses `5`.
#[derive(Debug, Clone, PartialEq)]
pub struct GoDuration {
    /// As written (Argo takes it as is).
    pub text: String,
    pub seconds: f64,
}

impl GoDuration {
    /// Parse `s`; the error is one clause, for `\`s\` <error>`.
    pub fn parse(s: &str) -> Result<GoDuration, String> {
        let seconds = go_duration_seconds(s).ok_or_else(|| {
            if !s.is_empty() && s.chars().all(|c| c.is_ascii_digit() || c == '.') {
                format!("`{s}` has no unit; write e.g. {s}s, 5m or 1h")
            } else {
                format!("`{s}` is not a duration; write e.g. 60s, 5m or 1h")
            }
        })?;
        Ok(GoDuration {
            text: s.to_string(),
            seconds,
        })
    }
}

impl fmt::Display for GoDuration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl Serialize for GoDuration {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.text)
    }
}

impl<'de> Deserialize<'de> for GoDuration {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl serde::de::Visitor<'_> for V {
            type Value = GoDuration;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a duration such as 60s, 5m or 1h")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<GoDuration, E> {
                GoDuration::parse(v).map_err(E::custom)
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<GoDuration, E> {
                self.visit_str(&v.to_string())
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<GoDuration, E> {
                self.visit_str(&v.to_string())
            }
            fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<GoDuration, E> {
                self.visit_str(&v.to_string())
            }
        }
        d.deserialize_any(V)
    }
}

/// Seconds in a Go duration, or None: `<number><unit>` repeated, units ns, us (µs), ms, s, m,
/// h; `0` alone is zero.
fn go_duration_seconds(s: &str) -> Option<f64> {
    if s == "0" {
        return Some(0.0);
    }
    if s.is_empty() {
        return None;
    }
    let mut total = 0.0;
    let mut rest = s;
    while !rest.is_empty() {
        let end = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        let num = &rest[..end];
        if !num.chars().any(|c| c.is_ascii_digit()) || num.matches('.').count() > 1 {
            return None;
        }
        let n: f64 = num.parse().ok()?;
        rest = &rest[end..];
        // the longest unit first: `ms` is not `m` then `s`
        let (unit, mult) = [
            ("ns", 1e-9),
            ("us", 1e-6),
            ("µs", 1e-6),
            ("ms", 1e-3),
            ("s", 1.0),
            ("m", 60.0),
            ("h", 3600.0),
        ]
        .into_iter()
        .find(|(u, _)| rest.starts_with(u))?;
        total += n * mult;
        rest = &rest[unit.len()..];
    }
    Some(total)
}

/// An ISO-8601 duration (`PnYnMnWnDTnHnMnS`, at least one component, fractions allowed), as
/// `max_cache_staleness` takes it (the KFP SDK's `set_caching_options`; `P0D` turns caching
/// off). Rendered as written.
#[derive(Debug, Clone, PartialEq)]
pub struct IsoDuration {
    pub text: String,
    zero: bool,
}

impl IsoDuration {
    pub fn parse(s: &str) -> Result<IsoDuration, String> {
        let refuse = || {
            format!(
                "`{s}` is not an ISO-8601 duration; write e.g. P0D (no caching), PT1H, P7D or P1DT2H"
            )
        };
        let rest = s.strip_prefix('P').ok_or_else(refuse)?;
        let (date, time) = match rest.split_once('T') {
            Some((d, t)) => (d, Some(t)),
            None => (rest, None),
        };
        let mut numbers = iso_components(date, &['Y', 'M', 'W', 'D']).ok_or_else(refuse)?;
        if let Some(t) = time {
            let more = iso_components(t, &['H', 'M', 'S']).ok_or_else(refuse)?;
            if more.is_empty() {
                return Err(refuse());
            }
            numbers.extend(more);
        }
        if numbers.is_empty() {
            return Err(refuse());
        }
        Ok(IsoDuration {
            text: s.to_string(),
            zero: numbers.iter().all(|n| *n == 0.0),
        })
    }

    /// True for a duration of zero length (`P0D`, `PT0S`): no caching.
    pub fn is_zero(&self) -> bool {
        self.zero
    }
}

/// The numbers of `<number><designator>` parts in `order`; None when malformed.
fn iso_components(s: &str, order: &[char]) -> Option<Vec<f64>> {
    let mut next = 0;
    let mut out = Vec::new();
    let mut rest = s;
    while !rest.is_empty() {
        let end = rest.find(|c: char| !(c.is_ascii_digit() || c == '.' || c == ','))?;
        let num = &rest[..end];
        if !num.chars().next()?.is_ascii_digit() {
            return None;
        }
        let d = rest[end..].chars().next()?;
        let pos = order[next..].iter().position(|&o| o == d)? + next;
        next = pos + 1;
        out.push(num.replace(',', ".").parse().ok()?);
        rest = &rest[end + d.len_utf8()..];
    }
    Some(out)
}

impl fmt::Display for IsoDuration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl Serialize for IsoDuration {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.text)
    }
}

impl<'de> Deserialize<'de> for IsoDuration {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        IsoDuration::parse(&s).map_err(serde::de::Error::custom)
    }
}

/// A point in time written in RFC 3339 (`2026-01-31T06:00:00Z`, `2026-01-31T07:00:00+01:00`):
/// the schedule's `start_time` / `end_time` in the config and `--start-time` / `--end-time` on
/// the command line, parsed when read so a bad one is refused at its place (file:line:column or
/// the flag) before any request. KFP's `CronSchedule.start_time` is a protobuf `Timestamp`
/// (kubeflow/pipelines `backend/api/v2beta1/recurring_run.proto`), which protojson reads as
/// RFC 3339; kfpx sends it in UTC. Shown as written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Timestamp {
    pub text: String,
    pub utc: chrono::DateTime<chrono::Utc>,
}

impl Timestamp {
    /// Parse `s`; the error is one clause, for `\`s\` <error>`.
    pub fn parse(s: &str) -> Result<Timestamp, String> {
        chrono::DateTime::parse_from_rfc3339(s.trim())
            .map(|t| Timestamp {
                text: s.to_string(),
                utc: t.with_timezone(&chrono::Utc),
            })
            .map_err(|_| format!("`{s}` is not an RFC 3339 time; write e.g. 2026-01-31T06:00:00Z"))
    }

    /// In UTC to the second, as sent to KFP (`2026-01-31T05:00:00Z`).
    pub fn to_utc_string(&self) -> String {
        self.utc.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
    }
}

impl std::str::FromStr for Timestamp {
    type Err = String;
    fn from_str(s: &str) -> Result<Timestamp, String> {
        Timestamp::parse(s)
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl Serialize for Timestamp {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.text)
    }
}

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Timestamp::parse(&s).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_are_rfc3339_in_any_offset_and_sent_in_utc() {
        let t = Timestamp::parse("2026-01-01T01:00:00+01:00").unwrap();
        assert_eq!(t.to_string(), "2026-01-01T01:00:00+01:00");
        assert_eq!(t.to_utc_string(), "2026-01-01T00:00:00Z");
        for bad in ["tomorrow", "2026-01-01", "2026-01-01 00:00", ""] {
            assert_eq!(
                Timestamp::parse(bad).unwrap_err(),
                format!("`{bad}` is not an RFC 3339 time; write e.g. 2026-01-31T06:00:00Z")
            );
        }
    }

    #[test]
    fn quantities() {
        for (ok, v) in [
            ("500m", 0.5),
            ("2", 2.0),
            ("1.5", 1.5),
            ("0.5", 0.5),
            (".5", 0.5),
            ("1Gi", 1073741824.0),
            ("1024Mi", 1073741824.0),
            ("1e3", 1000.0),
            ("1e-3", 0.001),
            ("2E", 2e18),
            ("100k", 1e5),
            ("+3", 3.0),
        ] {
            assert_eq!(quantity_value(ok), Some(v), "{ok}");
        }
        for bad in [
            "lots", "", "2GB", "1.2.3", "Gi", "5 Gi", "1e", "-1", "-500m", ".", "1e+", " 2",
        ] {
            assert_eq!(quantity_value(bad), None, "{bad}");
        }
    }

    #[test]
    fn go_durations() {
        for (ok, secs) in [
            ("60s", 60.0),
            ("5m", 300.0),
            ("1h", 3600.0),
            ("1h30m", 5400.0),
            ("500ms", 0.5),
            ("1.5h", 5400.0),
            ("0", 0.0),
            ("2us", 2e-6),
            ("1m30s", 90.0),
        ] {
            assert_eq!(GoDuration::parse(ok).map(|d| d.seconds), Ok(secs), "{ok}");
        }
        for bad in [
            "",
            "5 minutes",
            "m",
            "1d",
            "-5s",
            "s60",
            "5",
            "60",
            "1.5",
            "1..5s",
            "5mss",
        ] {
            assert!(GoDuration::parse(bad).is_err(), "{bad}");
        }
        assert_eq!(
            GoDuration::parse("5").unwrap_err(),
            "`5` has no unit; write e.g. 5s, 5m or 1h"
        );
        assert_eq!(
            GoDuration::parse("soon").unwrap_err(),
            "`soon` is not a duration; write e.g. 60s, 5m or 1h"
        );
    }

    #[test]
    fn iso_durations() {
        for ok in [
            "P0D",
            "PT1H",
            "P1DT2H",
            "P1Y2M3W4DT5H6M7.5S",
            "PT0S",
            "P7D",
            "P0,5D",
        ] {
            assert!(IsoDuration::parse(ok).is_ok(), "{ok}");
        }
        for bad in ["", "P", "PT", "1h", "P1H", "PT1D", "P1D2Y", "0D", "P1DT"] {
            assert!(IsoDuration::parse(bad).is_err(), "{bad}");
        }
        for zero in ["P0D", "PT0S", "P0DT0H", "P0Y0M"] {
            assert!(IsoDuration::parse(zero).unwrap().is_zero(), "{zero}");
        }
        for not in ["P1D", "PT0.5S", "P0DT1S"] {
            assert!(!IsoDuration::parse(not).unwrap().is_zero(), "{not}");
        }
    }

    #[test]
    fn typed_from_yaml_numbers_and_strings() {
        let q: Vec<Quantity> = serde_yaml::from_str("[1, 0.5, 500m]").unwrap();
        assert_eq!(q[0].to_string(), "1");
        assert_eq!(q[1].value(), 0.5);
        assert_eq!(q[2].value(), 0.5);
        assert!(serde_yaml::from_str::<Quantity>("-1").is_err());
        assert!(serde_yaml::from_str::<Quantity>(".inf").is_err());
        let d: GoDuration = serde_yaml::from_str("90s").unwrap();
        assert_eq!((d.text.as_str(), d.seconds), ("90s", 90.0));
        let e = serde_yaml::from_str::<GoDuration>("5").unwrap_err();
        assert!(e.to_string().contains("`5` has no unit"), "{e}");
    }
}
