//! Every problem of a config in one run. serde stops at the first error, so typing is repeated:
//! after each error the offending entry is taken out of a working copy of the tree (or, for a
//! missing required key, a placeholder is put in) and typing starts again, until it succeeds;
//! then the validation checks run on what typed. Problems caused by kfpx's own repairs (a
//! placeholder that does not fit, a required key that was taken out) are not reported. The
//! rounds are bounded ([`MAX_ROUNDS`]); a config has far fewer keys than that in practice.

use super::tree::{KeyPath, Kind, Loc, Node, Scalar, Seg};
use super::{de, misplaced_key_hint, validate, Config, ConfigError};

/// At most this many typing rounds (so at most this many problems are found).
pub const MAX_ROUNDS: usize = 200;

/// Type and validate `tree`. `failed` are paths already reported (e.g. a placeholder that could
/// not be filled): they are taken out first, and consequences of that are not reported again.
/// The problems come back in file order.
pub fn type_and_validate(
    tree: &Node,
    mut problems: Vec<ConfigError>,
    failed: &[KeyPath],
) -> Result<Config, Vec<ConfigError>> {
    let mut work = tree.clone();
    let mut removed: Vec<KeyPath> = Vec::new();
    let mut placeholders: Vec<KeyPath> = Vec::new();
    // Names an unknown key stood for (itself, its did-you-mean): a required key of that name
    // then missing is the same mistake, not another one.
    let mut meant: Vec<String> = Vec::new();
    for path in failed {
        if remove(&mut work, path) {
            removed.push(path.clone());
        }
    }
    for _ in 0..MAX_ROUNDS {
        let e = match de::from_node::<Config>(&work) {
            Ok(config) => {
                for p in validate::validate(&config) {
                    // Not about a repair, nor about a mapping that lost a key to one (its
                    // check would see a key missing that is only misspelt).
                    let lost_a_key = removed
                        .iter()
                        .any(|r| r.0.len() == p.path.0.len() + 1 && starts_with(r, &p.path));
                    if lost_a_key
                        || under_any(&p.path, &placeholders)
                        || under_any(&p.path, &removed)
                    {
                        continue;
                    }
                    problems.push(ConfigError::At {
                        loc: work.locate(&p.path),
                        path: Some(p.path),
                        msg: p.msg,
                    });
                }
                if problems.is_empty() {
                    return Ok(config);
                }
                break;
            }
            Err(e) => e,
        };
        let Some((loc, path)) = e.at else {
            problems.push(ConfigError::Invalid(e.msg));
            break;
        };
        if let Some(key) = missing_key(&e.msg) {
            let child = path.key(key);
            let same_mistake = meant.iter().any(|m| m == key);
            if !same_mistake && !under_any(&child, &removed) && !under_any(&path, &placeholders) {
                problems.push(located(loc, path.clone(), e.msg.clone()));
            }
            // A placeholder lets typing go on past the missing key; if one is there already
            // (it did not fit), or cannot be put in, the mapping holding it goes.
            if !placeholders.contains(&child) && insert_placeholder(&mut work, &path, key) {
                placeholders.push(child);
                continue;
            }
            if !remove(&mut work, &path) {
                break;
            }
            removed.push(path);
            continue;
        }
        let caused_by_repair = placeholders.iter().find(|p| starts_with(&path, p)).cloned();
        let target = match caused_by_repair {
            // A placeholder of the wrong type: take out the mapping that holds it.
            Some(p) => KeyPath(p.0[..p.0.len() - 1].to_vec()),
            None => {
                if let Some(rest) = e.msg.strip_prefix("unknown key `") {
                    meant.extend(rest.split('`').next().map(str::to_string));
                    if let Some(best) = e.msg.split("did you mean `").nth(1) {
                        meant.extend(best.split('`').next().map(str::to_string));
                    }
                }
                problems.push(located(loc, path.clone(), e.msg));
                path
            }
        };
        if !remove(&mut work, &target) {
            break;
        }
        removed.push(target);
    }
    Err(problems)
}

/// A located problem; an unknown key that belongs elsewhere says where.
fn located(loc: Loc, path: KeyPath, msg: String) -> ConfigError {
    let msg = match misplaced_key_hint(&path) {
        Some(hint) if msg.starts_with("unknown key") => format!("{msg}; {hint}"),
        _ => msg,
    };
    ConfigError::At {
        loc,
        path: Some(path),
        msg,
    }
}

/// The key named by serde's "missing required key `k`" message.
fn missing_key(msg: &str) -> Option<&str> {
    msg.strip_prefix("missing required key `")?
        .strip_suffix('`')
}

fn starts_with(path: &KeyPath, prefix: &KeyPath) -> bool {
    path.0.len() >= prefix.0.len() && path.0[..prefix.0.len()] == prefix.0[..]
}

fn under_any(path: &KeyPath, prefixes: &[KeyPath]) -> bool {
    prefixes.iter().any(|p| starts_with(path, p))
}

/// Take the entry or list item at `path` out of `tree`. False for the root or a path that is
/// not there.
fn remove(tree: &mut Node, path: &KeyPath) -> bool {
    let Some((last, parent)) = path.0.split_last() else {
        return false;
    };
    let Some(node) = find_mut(tree, parent) else {
        return false;
    };
    match (&mut node.kind, last) {
        (Kind::Map(entries), Seg::Key(k)) => {
            let before = entries.len();
            entries.retain(|e| e.key != *k);
            entries.len() != before
        }
        (Kind::Seq(items), Seg::Index(i)) if *i < items.len() => {
            items.remove(*i);
            true
        }
        _ => false,
    }
}

/// Put `key: placeholder` into the mapping at `path`.
fn insert_placeholder(tree: &mut Node, path: &KeyPath, key: &str) -> bool {
    let Some(node) = find_mut(tree, &path.0) else {
        return false;
    };
    let loc = node.loc.clone();
    let Kind::Map(entries) = &mut node.kind else {
        return false;
    };
    entries.push(super::tree::Entry {
        key: key.to_string(),
        key_loc: loc.clone(),
        value: Node {
            loc,
            kind: Kind::Scalar(Scalar {
                text: "placeholder".into(),
                plain: false,
                sources: Vec::new(),
            }),
        },
    });
    true
}

fn find_mut<'a>(tree: &'a mut Node, path: &[Seg]) -> Option<&'a mut Node> {
    let mut cur = tree;
    for seg in path {
        cur = match (seg, &mut cur.kind) {
            (Seg::Key(k), Kind::Map(entries)) => {
                &mut entries.iter_mut().find(|e| e.key == *k)?.value
            }
            (Seg::Index(i), Kind::Seq(items)) => items.get_mut(*i)?,
            _ => return None,
        };
    }
    Some(cur)
}
