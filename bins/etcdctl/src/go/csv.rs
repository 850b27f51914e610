//! The first record of Go's `encoding/csv` reader (default options), as pflag's string
//! slice flags parse their value, plus the writer pflag uses to print a default.

/// Reads the first CSV record of `input` like `csv.NewReader(...).Read()` (Go 1.19).
/// Errors carry Go's text (`parse error on line 1, column 3: bare " in non-quoted-field`).
pub fn read_record(input: &str) -> Result<Vec<String>, String> {
    let lines = split_lines(input);
    let mut idx = 0;
    // Skip empty lines.
    while idx < lines.len() && lines[idx].trim_end_matches('\n').is_empty() {
        idx += 1;
    }
    if idx >= lines.len() {
        return Err("EOF".to_string());
    }
    let rec_line = idx + 1;
    let mut line_no = rec_line;
    let mut line: &str = &lines[idx];
    let mut col = 1usize;
    let mut fields = Vec::new();
    let parse_err = |start: usize, line: usize, col: usize, msg: &str| {
        if start != line {
            format!("record on line {start}; parse error on line {line}, column {col}: {msg}")
        } else {
            format!("parse error on line {line}, column {col}: {msg}")
        }
    };
    const BARE: &str = "bare \" in non-quoted-field";
    const QUOTE: &str = "extraneous or missing \" in quoted-field";
    'fields: loop {
        if !line.starts_with('"') {
            let (field, rest) = match line.find(',') {
                Some(i) => (&line[..i], Some(&line[i + 1..])),
                None => (line.strip_suffix('\n').unwrap_or(line), None),
            };
            if let Some(j) = field.find('"') {
                return Err(parse_err(rec_line, line_no, col + j, BARE));
            }
            fields.push(field.to_string());
            match rest {
                Some(r) => {
                    col += field.len() + 1;
                    line = r;
                    continue 'fields;
                }
                None => break 'fields,
            }
        }
        // Quoted field.
        let mut value = String::new();
        line = &line[1..];
        col += 1;
        loop {
            if let Some(i) = line.find('"') {
                value.push_str(&line[..i]);
                line = &line[i + 1..];
                col += i + 1;
                if line.starts_with('"') {
                    value.push('"');
                    line = &line[1..];
                    col += 1;
                } else if line.starts_with(',') {
                    line = &line[1..];
                    col += 1;
                    fields.push(value);
                    continue 'fields;
                } else if line.is_empty() || line == "\n" {
                    fields.push(value);
                    break 'fields;
                } else {
                    return Err(parse_err(rec_line, line_no, col - 1, QUOTE));
                }
            } else if !line.is_empty() {
                value.push_str(line);
                col += line.len();
                idx += 1;
                match lines.get(idx) {
                    Some(next) => {
                        line = next;
                        line_no += 1;
                        col = 1;
                    }
                    None => line = "",
                }
            } else {
                return Err(parse_err(rec_line, line_no, col, QUOTE));
            }
        }
    }
    Ok(fields)
}

/// Splits into lines that keep their `\n` (CRLF normalized to LF).
fn split_lines(input: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = input;
    while !rest.is_empty() {
        let (line, tail) = match rest.find('\n') {
            Some(i) => (&rest[..=i], &rest[i + 1..]),
            None => (rest.strip_suffix('\r').unwrap_or(rest), ""),
        };
        let line = match line.strip_suffix("\r\n") {
            Some(l) => format!("{l}\n"),
            None => line.to_string(),
        };
        out.push(line);
        rest = tail;
    }
    out
}

/// pflag's `writeAsCSV`: one CSV record without the trailing newline.
pub fn write_record(fields: &[String]) -> String {
    fields
        .iter()
        .map(|f| {
            let needs_quotes = !f.is_empty()
                && (f == "\\."
                    || f.contains([',', '"', '\r', '\n'])
                    || f.starts_with(char::is_whitespace));
            if needs_quotes {
                format!("\"{}\"", f.replace('"', "\"\""))
            } else {
                f.clone()
            }
        })
        .collect::<Vec<_>>()
        .join(",")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_fields() {
        assert_eq!(read_record("a,b").unwrap(), vec!["a", "b"]);
        assert_eq!(read_record("a, b ").unwrap(), vec!["a", " b "]);
        assert_eq!(read_record("\"a,b\",c").unwrap(), vec!["a,b", "c"]);
        assert_eq!(read_record("\"a\"\"b\"").unwrap(), vec!["a\"b"]);
        assert_eq!(read_record("a,").unwrap(), vec!["a", ""]);
        assert_eq!(read_record("a\nb").unwrap(), vec!["a"]);
    }

    #[test]
    fn reports_go_errors() {
        assert_eq!(
            read_record("ab\"c").unwrap_err(),
            "parse error on line 1, column 3: bare \" in non-quoted-field"
        );
        assert_eq!(
            read_record("\"ab\"c").unwrap_err(),
            "parse error on line 1, column 4: extraneous or missing \" in quoted-field"
        );
        assert_eq!(read_record("\n").unwrap_err(), "EOF");
    }

    #[test]
    fn writes_records() {
        assert_eq!(write_record(&["127.0.0.1:2379".into()]), "127.0.0.1:2379");
        assert_eq!(write_record(&["a".into(), "b,c".into()]), "a,\"b,c\"");
    }
}
