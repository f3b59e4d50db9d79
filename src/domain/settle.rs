//! What is recorded of a rebuild of ours that did not simply succeed: the text that
//! says what it left behind, and the note a rebuild that swapped despite an error
//! keeps.

/// What a rebuild left on its table, by name: what was dropped, what waits for a
/// later run.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct LeftBehind {
    pub(crate) dropped: Vec<String>,
    pub(crate) kept: Vec<String>,
}

impl LeftBehind {
    pub(crate) fn is_empty(&self) -> bool {
        self.dropped.is_empty() && self.kept.is_empty()
    }

    /// `text`, followed by what was dropped and what was kept.
    pub(crate) fn describe(&self, mut text: String) -> String {
        if !self.dropped.is_empty() {
            text.push_str(&format!(
                "; dropped its leftover {}",
                self.dropped.join(", ")
            ));
        }
        if !self.kept.is_empty() {
            text.push_str(&format!(
                "; leftover {} kept for a later run",
                self.kept.join(", ")
            ));
        }
        text
    }
}

/// The note of a rebuild that swapped. `error`: the error its statement returned,
/// if it returned one. A process that ended after the swap ended as it should (its
/// client was gone): only an error we saw, or what it left, is worth a note.
pub(crate) fn note_after_swap(error: Option<&str>, left: &LeftBehind) -> Option<String> {
    match error {
        Some(error) => Some(left.describe(format!("after the swap: {error}"))),
        None if !left.is_empty() => Some(left.describe("after the swap".to_owned())),
        None => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn left(dropped: &[&str], kept: &[&str]) -> LeftBehind {
        LeftBehind {
            dropped: dropped.iter().map(|s| s.to_string()).collect(),
            kept: kept.iter().map(|s| s.to_string()).collect(),
        }
    }

    #[test]
    fn what_was_left_follows_the_text() {
        assert_eq!(left(&[], &[]).describe("x".into()), "x");
        assert_eq!(
            left(&["public.a_ccnew", "public.a_ccold"], &["public.b_ccnew"])
                .describe("deadlock".into()),
            "deadlock; dropped its leftover public.a_ccnew, public.a_ccold; leftover public.b_ccnew kept for a later run"
        );
    }

    #[test]
    fn a_swap_is_noted_only_for_an_error_or_a_leftover() {
        assert_eq!(note_after_swap(None, &left(&[], &[])), None);
        assert_eq!(
            note_after_swap(None, &left(&[], &["public.a_ccold"])).as_deref(),
            Some("after the swap; leftover public.a_ccold kept for a later run")
        );
        assert_eq!(
            note_after_swap(Some("canceled"), &left(&["public.a_ccold"], &[])).as_deref(),
            Some("after the swap: canceled; dropped its leftover public.a_ccold")
        );
        assert_eq!(
            note_after_swap(Some("canceled"), &left(&[], &[])).as_deref(),
            Some("after the swap: canceled")
        );
    }
}
