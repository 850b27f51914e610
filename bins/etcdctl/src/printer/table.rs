//! `-w table`: olekukonko/tablewriter 0.0.5 as etcdctl configures it (header row, borders,
//! right-aligned cells, cells auto-wrapped at 30 columns).

use super::Table;
use crate::out;

const MAX_WIDTH: usize = 30;

/// go-runewidth's width, approximated by the number of characters.
fn width(s: &str) -> usize {
    s.chars().count()
}

/// tablewriter's `WrapWords`: minimal-raggedness line breaking.
fn wrap_words(words: &[&str], spc: usize, lim: usize, pen: usize) -> Vec<Vec<String>> {
    let n = words.len();
    let mut length = vec![vec![0usize; n]; n];
    for i in 0..n {
        length[i][i] = width(words[i]);
        for j in i + 1..n {
            length[i][j] = length[i][j - 1] + spc + width(words[j]);
        }
    }
    let mut nbrk = vec![0usize; n];
    let mut cost = vec![i64::from(i32::MAX); n];
    for i in (0..n).rev() {
        if length[i][n - 1] <= lim {
            cost[i] = 0;
            nbrk[i] = n;
        } else {
            for j in i + 1..n {
                let d = lim as i64 - length[i][j - 1] as i64;
                let mut c = d * d + cost[j];
                if length[i][j - 1] > lim {
                    c += pen as i64;
                }
                if c < cost[i] {
                    cost[i] = c;
                    nbrk[i] = j;
                }
            }
        }
    }
    let mut lines = Vec::new();
    let mut i = 0;
    while i < n {
        lines.push(words[i..nbrk[i]].iter().map(|w| w.to_string()).collect());
        i = nbrk[i];
    }
    lines
}

/// tablewriter's `WrapString`.
fn wrap_string(s: &str, lim: usize) -> Vec<String> {
    let joined = s.replace('\n', " ");
    let words: Vec<&str> = joined.split(' ').collect();
    let mut lim = lim;
    for w in &words {
        lim = lim.max(width(w));
    }
    wrap_words(&words, 1, lim, 100_000)
        .into_iter()
        .map(|l| l.join(" "))
        .collect()
}

/// tablewriter's `parseDimension`: the cell's lines and its width.
fn parse_dimension(s: &str) -> (Vec<String>, usize) {
    let raw: Vec<&str> = s.split('\n').collect();
    let max_width = raw
        .iter()
        .map(|l| width(l))
        .max()
        .unwrap_or(0)
        .min(MAX_WIDTH);
    // Reflow: one paragraph of everything.
    let lines = wrap_string(&raw.join(" "), max_width);
    let new_max = lines.iter().map(|l| width(l)).fold(max_width, usize::max);
    (lines, new_max)
}

/// tablewriter's `Title` (header auto-format).
fn title(name: &str) -> String {
    let chars: Vec<char> = name.chars().collect();
    let num_or_space = |c: char| c.is_ascii_digit() || c == ' ';
    let mapped: String = chars
        .iter()
        .enumerate()
        .map(|(i, &c)| match c {
            '_' => ' ',
            '.' if (i != 0 && !num_or_space(chars[i - 1]))
                || (i + 1 != chars.len() && !num_or_space(chars[i + 1])) =>
            {
                ' '
            }
            c => c,
        })
        .collect();
    let trimmed = mapped.trim();
    if trimmed.is_empty() && !name.is_empty() {
        return " ".to_string();
    }
    trimmed.to_uppercase()
}

/// Renders a table the way etcdctl's table printer does.
pub fn render((hdr, rows): &Table) -> String {
    let ncols = hdr.len();
    let mut cs = vec![0usize; ncols];
    let headers: Vec<Vec<String>> = hdr
        .iter()
        .enumerate()
        .map(|(i, h)| {
            let (lines, w) = parse_dimension(h);
            cs[i] = cs[i].max(w);
            lines
        })
        .collect();
    let cells: Vec<Vec<Vec<String>>> = rows
        .iter()
        .map(|row| {
            row.iter()
                .enumerate()
                .map(|(i, v)| {
                    let (lines, w) = parse_dimension(v);
                    if i < ncols {
                        cs[i] = cs[i].max(w);
                    }
                    lines
                })
                .collect()
        })
        .collect();
    let line: String = {
        let mut s = String::from("+");
        for w in &cs {
            s.push_str(&"-".repeat(w + 2));
            s.push('+');
        }
        s.push('\n');
        s
    };
    let mut out = line.clone();
    // Header, centered.
    let hmax = headers.iter().map(Vec::len).max().unwrap_or(0);
    for x in 0..hmax {
        out.push('|');
        for (y, w) in cs.iter().enumerate() {
            let h = headers
                .get(y)
                .and_then(|l| l.get(x))
                .map(|s| title(s))
                .unwrap_or_default();
            let gap = w.saturating_sub(width(&h));
            let left = gap / 2;
            out.push_str(&format!(
                " {}{}{} |",
                " ".repeat(left),
                h,
                " ".repeat(gap - left)
            ));
        }
        out.push('\n');
    }
    out.push_str(&line);
    // Rows, right-aligned.
    for row in &cells {
        let max = row.iter().map(Vec::len).max().unwrap_or(0);
        for x in 0..max {
            for (y, cell) in row.iter().enumerate() {
                let s = cell.get(x).map(String::as_str).unwrap_or("  ");
                let w = cs.get(y).copied().unwrap_or(0);
                out.push_str(&format!(
                    "| {}{} ",
                    " ".repeat(w.saturating_sub(width(s))),
                    s
                ));
            }
            out.push_str("|\n");
        }
    }
    out.push_str(&line);
    out
}

/// Prints a table to stdout.
pub fn print(t: Table) {
    out::stdout(render(&t));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_like_tablewriter() {
        let t = (
            vec!["endpoint", "health", "took", "error"],
            vec![vec![
                "127.0.0.1:23791".to_string(),
                "true".into(),
                "3.607518ms".into(),
                "".into(),
            ]],
        );
        let want = "\
+-----------------+--------+------------+-------+
|    ENDPOINT     | HEALTH |    TOOK    | ERROR |
+-----------------+--------+------------+-------+
| 127.0.0.1:23791 |   true | 3.607518ms |       |
+-----------------+--------+------------+-------+
";
        assert_eq!(render(&t), want);
    }

    #[test]
    fn wraps_long_cells() {
        let (lines, w) =
            parse_dimension("a very long error message that does not fit in thirty columns");
        assert!(lines.len() > 1);
        assert!(w <= 30);
    }
}
