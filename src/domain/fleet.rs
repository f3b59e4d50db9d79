//! A fleet, not a queue: how a run's targets are split into shards, who goes first,
//! and which targets a chain hands over to its next hop.

use std::collections::HashMap;
use std::time::SystemTime;

/// Where a target stands after an invocation worked on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Progress {
    /// Nothing left that a run can do now (errors are reported, not retried).
    Done,
    /// A rebuild runs in the server, another invocation holds the target, or its
    /// server runs as many rebuilds as it may: a later invocation looks again.
    Blocked,
    /// Candidates wait for time, but this hop could start none of them: an identical
    /// next hop would do the same, so the next schedule takes them.
    Stalled,
    /// Candidates wait for time and this hop advanced: the next hop continues.
    MoreWork,
}

/// How a target's progress is stored (`index_pilot.target_progress.state`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TargetState {
    Done,
    MoreWork,
    Waiting,
    Error,
}

impl TargetState {
    pub(crate) fn of(progress: Progress, failed: bool) -> TargetState {
        match progress {
            _ if failed => TargetState::Error,
            Progress::Done => TargetState::Done,
            Progress::MoreWork => TargetState::MoreWork,
            Progress::Blocked | Progress::Stalled => TargetState::Waiting,
        }
    }

    pub(crate) fn as_str(self) -> &'static str {
        match self {
            TargetState::Done => "done",
            TargetState::MoreWork => "more_work",
            TargetState::Waiting => "waiting",
            TargetState::Error => "error",
        }
    }
}

/// The targets an event selects, in the configured order.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct Selected {
    pub(crate) targets: Vec<String>,
    /// Names a chain's event carries that the configuration no longer lists.
    pub(crate) unknown: Vec<String>,
}

/// The event names a target the configuration does not list.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the event names target {name:?}, which is not configured (configured: {known})")]
pub(crate) struct UnknownTarget {
    pub(crate) name: String,
    pub(crate) known: String,
}

/// The configured targets an event asks for (all of them without `wanted`). A
/// chain's event (`continuing`) may outlive a target removed from the
/// configuration: that name is left out, not refused.
pub(crate) fn select_targets(
    known: &[&str],
    wanted: Option<&[String]>,
    continuing: bool,
) -> Result<Selected, UnknownTarget> {
    let mut unknown = Vec::new();
    for name in wanted.into_iter().flatten() {
        if known.contains(&name.as_str()) {
            continue;
        }
        if !continuing {
            return Err(UnknownTarget {
                name: name.clone(),
                known: known.join(", "),
            });
        }
        unknown.push(name.clone());
    }
    let targets = known
        .iter()
        .filter(|name| wanted.is_none_or(|wanted| wanted.iter().any(|w| w == *name)))
        .map(|name| (*name).to_owned())
        .collect();
    Ok(Selected { targets, unknown })
}

/// Splits `targets` into the fewest shards of at most `size`, as even as can be
/// (60 by 25: 20, 20, 20), keeping their order.
pub(crate) fn shards<T: Clone>(targets: &[T], size: usize) -> Vec<Vec<T>> {
    let size = size.max(1);
    let count = targets.len().div_ceil(size).max(1);
    let (base, extra) = (targets.len() / count, targets.len() % count);
    let mut rest = targets;
    (0..count)
        .map(|i| {
            let (shard, tail) = rest.split_at(base + usize::from(i < extra));
            rest = tail;
            shard.to_vec()
        })
        .collect()
}

/// Targets never served first, then those served longest ago; ties keep the
/// configured order.
pub(crate) fn longest_waiting_first(
    targets: &[String],
    served: &HashMap<String, SystemTime>,
) -> Vec<String> {
    let mut ordered = targets.to_vec();
    ordered.sort_by_key(|name| served.get(name).copied());
    ordered
}

/// What a chain does after a hop.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct HandOver {
    /// The targets the next hop continues; empty: the chain ends here.
    pub(crate) next: Vec<String>,
    /// Why targets with work left are not handed over.
    pub(crate) notes: Vec<String>,
}

/// Only targets that advanced and have candidates waiting for time go on, and only
/// while the hop cap allows: a target that could start nothing would meet the same
/// in an identical next hop, and the next schedule takes it anyway.
pub(crate) fn hand_over(outcomes: &[(String, Progress)], hop: u32, max_hops: u32) -> HandOver {
    let mut hand_over = HandOver::default();
    let with = |progress| -> Vec<String> {
        outcomes
            .iter()
            .filter(|(_, p)| *p == progress)
            .map(|(name, _)| name.clone())
            .collect()
    };
    let (more, stalled) = (with(Progress::MoreWork), with(Progress::Stalled));
    if !stalled.is_empty() {
        hand_over.notes.push(format!(
            "not handed over, this hop could start none of their candidates (the report says why for each): {}; the next schedule takes them",
            stalled.join(", ")
        ));
    }
    if more.is_empty() {
        return hand_over;
    }
    if hop < max_hops {
        hand_over.next = more;
    } else {
        hand_over.notes.push(format!(
            "hop cap {max_hops} reached with work left on {}: the next schedule takes it",
            more.join(", ")
        ));
    }
    hand_over
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::time::Duration;

    fn names(n: usize) -> Vec<String> {
        (0..n).map(|i| format!("t{i}")).collect()
    }

    #[test]
    fn sixty_targets_by_twenty_five_make_three_even_shards() {
        let split = shards(&names(60), 25);
        assert_eq!(split.iter().map(Vec::len).collect::<Vec<_>>(), [20, 20, 20]);
        assert_eq!(split.concat(), names(60));
        assert_eq!(shards(&names(25), 25).len(), 1);
        assert_eq!(
            shards(&names(26), 25)
                .iter()
                .map(Vec::len)
                .collect::<Vec<_>>(),
            [13, 13]
        );
        assert_eq!(shards::<String>(&[], 25), vec![Vec::<String>::new()]);
    }

    proptest! {
        #[test]
        fn shards_cover_every_target_once_within_the_size(n in 0usize..500, size in 1usize..60) {
            let split = shards(&names(n), size);
            prop_assert_eq!(split.concat(), names(n));
            prop_assert!(split.iter().all(|s| s.len() <= size));
            let (min, max) = (split.iter().map(Vec::len).min(), split.iter().map(Vec::len).max());
            prop_assert!(max.unwrap_or(0) - min.unwrap_or(0) <= 1);
        }
    }

    #[test]
    fn an_event_selects_configured_targets_in_configured_order() {
        let known = ["a", "b", "c"];
        let all = select_targets(&known, None, false).unwrap();
        assert_eq!(all.targets, ["a", "b", "c"]);
        assert!(all.unknown.is_empty());
        let wanted = vec!["c".to_owned(), "a".to_owned()];
        assert_eq!(
            select_targets(&known, Some(&wanted), false)
                .unwrap()
                .targets,
            ["a", "c"]
        );
        let gone = vec!["b".to_owned(), "gone".to_owned()];
        assert_eq!(
            select_targets(&known, Some(&gone), false),
            Err(UnknownTarget {
                name: "gone".to_owned(),
                known: "a, b, c".to_owned()
            })
        );
        let chained = select_targets(&known, Some(&gone), true).unwrap();
        assert_eq!(
            (chained.targets, chained.unknown),
            (vec!["b".to_owned()], vec!["gone".to_owned()])
        );
    }

    #[test]
    fn the_longest_waiting_go_first() {
        let t0 = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000);
        let served = HashMap::from([
            ("a".to_owned(), t0 + Duration::from_secs(60)),
            ("b".to_owned(), t0),
            ("d".to_owned(), t0 + Duration::from_secs(30)),
        ]);
        let targets: Vec<String> = ["a", "b", "c", "d", "e"].map(str::to_owned).to_vec();
        assert_eq!(
            longest_waiting_first(&targets, &served),
            ["c", "e", "b", "d", "a"]
        );
    }

    #[test]
    fn only_targets_that_advanced_go_to_the_next_hop() {
        let outcomes = vec![
            ("done".to_owned(), Progress::Done),
            ("busy".to_owned(), Progress::Blocked),
            ("stuck".to_owned(), Progress::Stalled),
            ("more".to_owned(), Progress::MoreWork),
        ];
        let next = hand_over(&outcomes, 2, 12);
        assert_eq!(next.next, ["more"]);
        assert_eq!(next.notes.len(), 1);
        assert!(next.notes[0].contains("stuck"), "{:?}", next.notes);
        let capped = hand_over(&outcomes, 12, 12);
        assert!(capped.next.is_empty());
        assert!(capped.notes[1].contains("hop cap 12"), "{:?}", capped.notes);
        assert_eq!(hand_over(&outcomes[..2], 0, 12), HandOver::default());
    }

    #[test]
    fn stored_states() {
        assert_eq!(
            TargetState::of(Progress::Stalled, false),
            TargetState::Waiting
        );
        assert_eq!(TargetState::of(Progress::Done, true), TargetState::Error);
        assert_eq!(
            TargetState::of(Progress::MoreWork, false).as_str(),
            "more_work"
        );
    }
}
