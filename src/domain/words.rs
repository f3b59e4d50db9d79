//! Counted nouns in messages: `1 index`, `2 indexes`, `0 targets`.

/// `n` and the noun in the number `n` asks for.
pub(crate) fn plural(n: u64, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_is_singular_and_every_other_count_plural() {
        assert_eq!(plural(1, "index", "indexes"), "1 index");
        assert_eq!(plural(2, "index", "indexes"), "2 indexes");
        assert_eq!(plural(0, "target", "targets"), "0 targets");
    }
}
