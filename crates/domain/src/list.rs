//! Lists of films, ranked or in the order their owner chose, edited in atomic batches.
//!
//! Entries keep an internal sort key (`i64`) with wide gaps between neighbours, so that adding or
//! moving one film writes one row: its new key lies between its neighbours' keys. Only when a gap
//! is used up (after about 30 moves into the same spot) are the whole list's keys spread again.
//! Clients never see keys: ranks on the wire are 1..n without gaps.

use std::collections::HashSet;

use crate::FilmId;
use crate::text::{self, TextError};

/// The most entries a list holds.
pub const MAX_ENTRIES: usize = 5_000;
/// The most operations one batch takes.
pub const MAX_OPS: usize = 1_000;
/// The most characters of a list's name (one line), its description and an entry's notes.
pub const NAME_MAX: usize = 200;
pub const DESCRIPTION_MAX: usize = 10_000;
pub const NOTES_MAX: usize = 10_000;

/// A list's name: one line of 1 to [`NAME_MAX`] characters, trimmed.
pub fn name(raw: &str) -> Result<String, TextError> {
    text::clean_required(raw, NAME_MAX, false)
}

/// A list's description or an entry's notes: up to `max` characters with line breaks, trimmed;
/// `None` when blank (none).
pub fn prose(raw: &str, max: usize) -> Result<Option<String>, TextError> {
    text::clean(raw, max, true)
}

/// The gap between neighbouring keys when keys are spread.
pub const KEY_GAP: i64 = 1 << 32;

/// One change to a list's entries; positions are 1-based, in the list as it is after the batch's
/// earlier operations.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ListOp {
    /// Adds a film at `position` (at the end when absent).
    Add {
        film: FilmId,
        position: Option<usize>,
    },
    /// Changes an entry's notes or spoiler flag (carried beside the plan; the order is unchanged).
    Update {
        film: FilmId,
    },
    Remove {
        film: FilmId,
    },
    Move {
        film: FilmId,
        position: usize,
    },
}

/// Why a batch is refused; the index of the failing operation goes with it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum BatchError {
    #[error("the film is already in the list")]
    DuplicateFilm,
    #[error("the film is not in the list")]
    NotInList,
    #[error("position must be between 1 and {max}")]
    PositionOutOfRange { max: usize },
    #[error("a list holds at most 5,000 films")]
    TooManyEntries,
}

/// An entry as stored: its film and sort key, in key order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Slot {
    pub film: FilmId,
    pub key: i64,
}

/// What a batch does to the stored entries.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Plan {
    /// Films that leave the list.
    pub removed: Vec<FilmId>,
    /// Films that join it, with their keys.
    pub added: Vec<Slot>,
    /// Films that stay but take a new key (moved, or every film when `respread`).
    pub rekeyed: Vec<Slot>,
    /// Films whose notes or spoiler flag change.
    pub updated: Vec<FilmId>,
    /// The list's films in their new order.
    pub order: Vec<FilmId>,
    /// A gap was used up: every key is new.
    pub respread: bool,
}

/// Plans `ops` on the list `current` (its slots in key order): all or nothing, refused with the
/// index of the first operation that cannot apply.
pub fn plan(current: &[Slot], ops: &[ListOp]) -> Result<Plan, (usize, BatchError)> {
    let mut order: Vec<FilmId> = current.iter().map(|s| s.film).collect();
    let mut touched: HashSet<FilmId> = HashSet::new();
    let mut updated: Vec<FilmId> = Vec::new();
    let position_of = |order: &[FilmId], film: FilmId| order.iter().position(|f| *f == film);
    for (i, op) in ops.iter().enumerate() {
        match *op {
            ListOp::Add { film, position } => {
                if position_of(&order, film).is_some() {
                    return Err((i, BatchError::DuplicateFilm));
                }
                let max = order.len() + 1;
                let at = position.unwrap_or(max);
                if !(1..=max).contains(&at) {
                    return Err((i, BatchError::PositionOutOfRange { max }));
                }
                if order.len() >= MAX_ENTRIES {
                    return Err((i, BatchError::TooManyEntries));
                }
                order.insert(at - 1, film);
                touched.insert(film);
            }
            ListOp::Remove { film } => {
                let at = position_of(&order, film).ok_or((i, BatchError::NotInList))?;
                order.remove(at);
                touched.remove(&film);
                updated.retain(|f| *f != film);
            }
            ListOp::Move { film, position } => {
                let at = position_of(&order, film).ok_or((i, BatchError::NotInList))?;
                let max = order.len();
                if !(1..=max).contains(&position) {
                    return Err((i, BatchError::PositionOutOfRange { max }));
                }
                order.remove(at);
                order.insert(position - 1, film);
                touched.insert(film);
            }
            ListOp::Update { film } => {
                position_of(&order, film).ok_or((i, BatchError::NotInList))?;
                if !updated.contains(&film) {
                    updated.push(film);
                }
            }
        }
    }
    let before: std::collections::HashMap<FilmId, i64> =
        current.iter().map(|s| (s.film, s.key)).collect();
    let kept: HashSet<FilmId> = order.iter().copied().collect();
    let removed = current
        .iter()
        .map(|s| s.film)
        .filter(|f| !kept.contains(f))
        .collect();
    // A film keeps its key unless it was added or moved; the others' keys are still in order,
    // since nothing else changes their relative order.
    let stable = |f: &FilmId| !touched.contains(f) && before.contains_key(f);
    let keys = match fill_keys(&order, &before, &stable) {
        Some(keys) => keys,
        None => spread(order.len()),
    };
    let respread = order
        .iter()
        .zip(&keys)
        .any(|(f, k)| stable(f) && before.get(f) != Some(k));
    let mut added = Vec::new();
    let mut rekeyed = Vec::new();
    for (film, key) in order.iter().zip(&keys) {
        let slot = Slot {
            film: *film,
            key: *key,
        };
        match before.get(film) {
            None => added.push(slot),
            Some(old) if old != key => rekeyed.push(slot),
            Some(_) => {}
        }
    }
    Ok(Plan {
        removed,
        added,
        rekeyed,
        updated,
        order,
        respread,
    })
}

/// Keys for `order` in which every stable film keeps its key and each run of other films takes
/// keys evenly spaced between its stable neighbours; `None` when a run does not fit its gap.
fn fill_keys(
    order: &[FilmId],
    before: &std::collections::HashMap<FilmId, i64>,
    stable: &dyn Fn(&FilmId) -> bool,
) -> Option<Vec<i64>> {
    let mut keys = vec![0i64; order.len()];
    let mut i = 0;
    while i < order.len() {
        if stable(&order[i]) {
            keys[i] = before[&order[i]];
            i += 1;
            continue;
        }
        let start = i;
        while i < order.len() && !stable(&order[i]) {
            i += 1;
        }
        let run = (i - start) as i128;
        let lo = if start == 0 {
            None
        } else {
            Some(i128::from(keys[start - 1]))
        };
        let hi = order.get(i).map(|f| i128::from(before[f]));
        let gap = i128::from(KEY_GAP);
        let (lo, hi) = match (lo, hi) {
            (None, None) => (0, gap * (run + 1)),
            (Some(lo), None) => (lo, lo + gap * (run + 1)),
            (None, Some(hi)) => (hi - gap * (run + 1), hi),
            (Some(lo), Some(hi)) => (lo, hi),
        };
        if hi - lo <= run {
            return None;
        }
        for j in 0..run {
            let key = lo + (hi - lo) * (j + 1) / (run + 1);
            keys[start + j as usize] = i64::try_from(key).ok()?;
        }
    }
    Some(keys)
}

/// Evenly spread keys for `n` films.
pub fn spread(n: usize) -> Vec<i64> {
    (1..=n as i64).map(|i| i * KEY_GAP).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn film(n: i64) -> FilmId {
        FilmId::new(n)
    }

    #[test]
    fn names_are_one_line_and_prose_may_be_blank() {
        assert_eq!(name("  Rainy day  "), Ok("Rainy day".to_owned()));
        assert_eq!(name(" "), Err(TextError::Empty));
        assert_eq!(name("a\nb"), Err(TextError::ControlCharacter));
        assert_eq!(
            name(&"x".repeat(NAME_MAX + 1)),
            Err(TextError::TooLong { max: NAME_MAX })
        );
        assert_eq!(prose(" \n ", NOTES_MAX), Ok(None));
        assert_eq!(prose("a\nb", NOTES_MAX), Ok(Some("a\nb".to_owned())));
        assert_eq!(prose("a\0b", NOTES_MAX), Err(TextError::ControlCharacter));
    }

    fn slots(n: i64) -> Vec<Slot> {
        spread(n as usize)
            .into_iter()
            .enumerate()
            .map(|(i, key)| Slot {
                film: film(i as i64 + 1),
                key,
            })
            .collect()
    }

    /// The stored list after a plan.
    fn apply(current: &[Slot], plan: &Plan) -> Vec<Slot> {
        let mut all: Vec<Slot> = current
            .iter()
            .filter(|s| !plan.removed.contains(&s.film))
            .map(|s| {
                plan.rekeyed
                    .iter()
                    .find(|r| r.film == s.film)
                    .copied()
                    .unwrap_or(*s)
            })
            .chain(plan.added.iter().copied())
            .collect();
        all.sort_by_key(|s| s.key);
        all
    }

    #[test]
    fn moving_one_film_in_a_long_list_rekeys_that_film_only() {
        let current = slots(5_000);
        let plan = plan(
            &current,
            &[ListOp::Move {
                film: film(4_000),
                position: 2,
            }],
        )
        .unwrap_or_default();
        assert_eq!(plan.rekeyed.len(), 1);
        assert!(plan.added.is_empty() && plan.removed.is_empty() && !plan.respread);
        assert_eq!(plan.order[1], film(4_000));
        let stored: Vec<FilmId> = apply(&current, &plan).iter().map(|s| s.film).collect();
        assert_eq!(stored, plan.order);
    }

    #[test]
    fn a_used_up_gap_spreads_every_key_again() {
        let mut current = slots(3);
        let mut respreads = 0;
        // Move the last film to second place, over and over: each time into the gap after the first.
        for _ in 0..40 {
            let last = current[2].film;
            let p = plan(
                &current,
                &[ListOp::Move {
                    film: last,
                    position: 2,
                }],
            )
            .unwrap_or_default();
            respreads += usize::from(p.respread);
            current = apply(&current, &p);
            assert_eq!(current.iter().map(|s| s.film).collect::<Vec<_>>(), p.order);
        }
        assert!(respreads >= 1, "40 halvings of a 2^32 gap use it up");
        assert!(respreads <= 2);
    }

    #[test]
    fn refusals_name_the_failing_operation() {
        let current = slots(3);
        let cases = [
            (
                vec![ListOp::Add {
                    film: film(2),
                    position: None,
                }],
                (0, BatchError::DuplicateFilm),
            ),
            (
                vec![
                    ListOp::Remove { film: film(1) },
                    ListOp::Move {
                        film: film(1),
                        position: 1,
                    },
                ],
                (1, BatchError::NotInList),
            ),
            (
                vec![ListOp::Add {
                    film: film(9),
                    position: Some(5),
                }],
                (0, BatchError::PositionOutOfRange { max: 4 }),
            ),
            (
                vec![ListOp::Move {
                    film: film(3),
                    position: 0,
                }],
                (0, BatchError::PositionOutOfRange { max: 3 }),
            ),
            (
                vec![ListOp::Update { film: film(7) }],
                (0, BatchError::NotInList),
            ),
        ];
        for (ops, expected) in cases {
            assert_eq!(plan(&current, &ops), Err(expected), "{ops:?}");
        }
        let full = slots(MAX_ENTRIES as i64);
        assert_eq!(
            plan(
                &full,
                &[ListOp::Add {
                    film: film(-1),
                    position: None
                }]
            ),
            Err((0, BatchError::TooManyEntries))
        );
    }

    fn op() -> impl Strategy<Value = ListOp> {
        prop_oneof![
            (1i64..30, proptest::option::of(1usize..30)).prop_map(|(f, p)| ListOp::Add {
                film: film(f),
                position: p
            }),
            (1i64..30).prop_map(|f| ListOp::Remove { film: film(f) }),
            (1i64..30, 1usize..30).prop_map(|(f, p)| ListOp::Move {
                film: film(f),
                position: p
            }),
            (1i64..30).prop_map(|f| ListOp::Update { film: film(f) }),
        ]
    }

    proptest! {
        /// Batches plan exactly what applying them one by one to a plain vector gives, store keys in
        /// that order, and write only the films they touch unless a gap is used up.
        #[test]
        fn plans_match_a_plain_vector(start in 0i64..12, batches in proptest::collection::vec(proptest::collection::vec(op(), 1..6), 1..12)) {
            let mut stored = slots(start);
            for ops in batches {
                let mut model: Vec<FilmId> = stored.iter().map(|s| s.film).collect();
                let mut model_ok = true;
                for op in &ops {
                    let ok = match *op {
                        ListOp::Add { film, position } => {
                            let at = position.unwrap_or(model.len() + 1);
                            let ok = !model.contains(&film) && (1..=model.len() + 1).contains(&at);
                            if ok { model.insert(at - 1, film); }
                            ok
                        }
                        ListOp::Remove { film } => match model.iter().position(|f| *f == film) {
                            Some(i) => { model.remove(i); true }
                            None => false,
                        },
                        ListOp::Move { film, position } => match model.iter().position(|f| *f == film) {
                            Some(i) if (1..=model.len()).contains(&position) => {
                                model.remove(i);
                                model.insert(position - 1, film);
                                true
                            }
                            _ => false,
                        },
                        ListOp::Update { film } => model.contains(&film),
                    };
                    if !ok { model_ok = false; break; }
                }
                match plan(&stored, &ops) {
                    Ok(p) => {
                        prop_assert!(model_ok);
                        prop_assert_eq!(&p.order, &model);
                        let next = apply(&stored, &p);
                        prop_assert_eq!(next.iter().map(|s| s.film).collect::<Vec<_>>(), model);
                        prop_assert!(next.windows(2).all(|w| w[0].key < w[1].key));
                        if !p.respread {
                            prop_assert!(p.rekeyed.len() + p.added.len() <= ops.len());
                        }
                        stored = next;
                    }
                    Err(_) => prop_assert!(!model_ok),
                }
            }
        }
    }
}
