//! Go's `text/tabwriter` (no flags), as etcdctl's help output goes through
//! `tabwriter.NewWriter(out, 0, 8, 1, '\t', 0)`.
//!
//! Text is split into tab-terminated cells; consecutive lines with a cell in the same
//! column form a block whose width is the widest cell plus padding.

#[derive(Clone, Copy)]
struct Cell {
    size: usize,
    width: usize,
}

/// Formats `text` like a Go tabwriter configured with the given parameters and flushed once.
pub fn format(
    text: &str,
    minwidth: usize,
    tabwidth: usize,
    padding: usize,
    padchar: char,
) -> String {
    let mut w = Writer {
        minwidth,
        tabwidth,
        padding,
        padchar,
        lines: Vec::new(),
        widths: Vec::new(),
        out: String::new(),
        buf: String::new(),
    };
    w.write(text);
    w.out
}

struct Writer {
    minwidth: usize,
    tabwidth: usize,
    padding: usize,
    padchar: char,
    /// Cell text of all buffered lines, concatenated.
    buf: String,
    lines: Vec<Vec<Cell>>,
    widths: Vec<usize>,
    out: String,
}

impl Writer {
    fn write(&mut self, text: &str) {
        self.lines.push(Vec::new());
        let mut cell_start = 0usize; // start of the current cell in `buf`
        for ch in text.chars() {
            match ch {
                '\t' | '\x0b' | '\n' | '\x0c' => {
                    let width = self.buf[cell_start..].chars().count();
                    let size = self.buf.len() - cell_start;
                    let line = self.lines.last_mut().expect("a line is always open");
                    line.push(Cell { size, width });
                    let ncells = line.len();
                    cell_start = self.buf.len();
                    if ch == '\n' || ch == '\x0c' {
                        self.lines.push(Vec::new());
                        if ch == '\x0c' || ncells == 1 {
                            self.flush();
                            cell_start = 0;
                        }
                    }
                }
                c => self.buf.push(c),
            }
        }
        // Final Flush: a pending partial cell becomes the last cell of its line.
        let size = self.buf.len() - cell_start;
        if size > 0 {
            let width = self.buf[cell_start..].chars().count();
            if let Some(line) = self.lines.last_mut() {
                line.push(Cell { size, width });
            }
        }
        self.flush();
    }

    fn flush(&mut self) {
        let n = self.lines.len();
        self.format(0, 0, n);
        self.lines.clear();
        self.lines.push(Vec::new());
        self.buf.clear();
    }

    fn format(&mut self, mut pos: usize, line0: usize, line1: usize) -> usize {
        let column = self.widths.len();
        let mut line0 = line0;
        let mut this = line0;
        while this < line1 {
            if column + 1 >= self.lines[this].len() {
                this += 1;
                continue;
            }
            pos = self.write_lines(pos, line0, this);
            line0 = this;
            let mut width = self.minwidth;
            while this < line1 && column + 1 < self.lines[this].len() {
                let c = self.lines[this][column];
                width = width.max(c.width + self.padding);
                this += 1;
            }
            self.widths.push(width);
            pos = self.format(pos, line0, this);
            self.widths.pop();
            line0 = this;
        }
        self.write_lines(pos, line0, line1)
    }

    fn write_lines(&mut self, mut pos: usize, line0: usize, line1: usize) -> usize {
        for i in line0..line1 {
            let cells = self.lines[i].clone();
            for (j, c) in cells.iter().enumerate() {
                if c.size > 0 {
                    let text = self.buf[pos..pos + c.size].to_string();
                    self.out.push_str(&text);
                    pos += c.size;
                }
                if j < self.widths.len() {
                    self.pad(c.width, self.widths[j]);
                }
            }
            if i + 1 < self.lines.len() {
                self.out.push('\n');
            }
        }
        pos
    }

    fn pad(&mut self, textw: usize, cellw: usize) {
        if self.padchar == '\t' {
            if self.tabwidth == 0 {
                return;
            }
            let cellw = cellw.div_ceil(self.tabwidth) * self.tabwidth;
            let n = cellw.saturating_sub(textw);
            for _ in 0..n.div_ceil(self.tabwidth) {
                self.out.push('\t');
            }
        } else {
            for _ in 0..cellw.saturating_sub(textw) {
                self.out.push(self.padchar);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aligns_columns_with_tabs() {
        let text = "  --a=\"l\"\tusage a\n  --print-value-only[=false]\tusage b\n\nNEXT:\n\tx\n";
        let want =
            "  --a=\"l\"\t\t\tusage a\n  --print-value-only[=false]\tusage b\n\nNEXT:\n\tx\n";
        assert_eq!(format(text, 0, 8, 1, '\t'), want);
    }

    #[test]
    fn nested_columns() {
        let text = "\tget\t\tGets\n\tendpoint health\tChecks\n";
        let want = "\tget\t\t\tGets\n\tendpoint health\tChecks\n";
        assert_eq!(format(text, 0, 8, 1, '\t'), want);
    }
}
