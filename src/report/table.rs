//! Tables in the text output, drawn as psql draws them (`-+-` under the header,
//! `|` between columns), with sizes and numbers aligned right.

use comfy_table::{
    CellAlignment, ContentArrangement, ContentLineStyle, LineStyle, Table, TableStyle,
};

/// Like psql's aligned format.
const PSQL: TableStyle = TableStyle::new()
    .header_lines(ContentLineStyle::none().junction('|'))
    .header_separator(LineStyle::none().fill('-').junction('+'))
    .content_lines(ContentLineStyle::none().junction('|'));

/// The widest a table gets before its text columns wrap (reasons, errors).
const WIDTH: u16 = 132;

/// A column: its header, and whether its values are numbers (aligned right).
pub(crate) struct Column {
    pub(crate) header: &'static str,
    pub(crate) numeric: bool,
}

pub(crate) const fn text(header: &'static str) -> Column {
    Column {
        header,
        numeric: false,
    }
}

pub(crate) const fn number(header: &'static str) -> Column {
    Column {
        header,
        numeric: true,
    }
}

/// The table's lines, each indented by `indent` spaces.
pub(crate) fn draw(columns: &[Column], rows: Vec<Vec<String>>, indent: usize) -> String {
    let mut table = Table::new();
    table
        .load_style(PSQL)
        .set_content_arrangement(ContentArrangement::Dynamic)
        .set_width(WIDTH.saturating_sub(u16::try_from(indent).unwrap_or(0)))
        .set_header(columns.iter().map(|c| c.header));
    for row in rows {
        table.add_row(row);
    }
    for (i, column) in columns.iter().enumerate() {
        if let Some(c) = table.column_mut(i) {
            c.set_cell_alignment(if column.numeric {
                CellAlignment::Right
            } else {
                CellAlignment::Left
            });
        }
    }
    let pad = " ".repeat(indent);
    let mut out = String::new();
    for line in table.lines() {
        out.push_str(&pad);
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn drawn_as_psql_draws_with_numbers_on_the_right() {
        let drawn = draw(
            &[text("index"), number("size")],
            vec![
                vec!["public.a".into(), "8 kB".into()],
                vec!["public.\"Weird Ünïcode\"".into(), "12 MB".into()],
            ],
            2,
        );
        let lines: Vec<&str> = drawn.lines().collect();
        assert_eq!(lines.len(), 4, "{drawn}");
        assert!(lines[0].starts_with("   index"), "{drawn}");
        assert!(
            lines[1].starts_with("  ---") && lines[1].contains("-+-"),
            "{drawn}"
        );
        assert!(lines[2].ends_with("  8 kB"), "{drawn}");
        assert!(lines[3].ends_with(" 12 MB"), "{drawn}");
        // Unicode counts by the width it shows, so the columns line up.
        let bar = |l: &str| l.chars().position(|c| c == '|');
        assert_eq!(bar(lines[2]), bar(lines[3]), "{drawn}");
    }
}
