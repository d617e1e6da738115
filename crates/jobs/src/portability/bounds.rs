//! Readers that bound what an uploaded file can cost before a parser holds it: the `csv` crate holds
//! a whole row, and `serde_json` a whole string or number, in memory, so a 1 GiB cell would be read
//! whole before its length could be checked.

use std::io::{self, Read};

use filmlog_domain::portability::MAX_CELL_BYTES;

/// The most bytes one CSV row may hand the parser: far above any valid row (a Letterboxd row has at
/// most a dozen cells, one of them long), and with them the quotes and line breaks [`CellBound`]
/// never drops.
pub const MAX_ROW_BYTES: usize = 8 * MAX_CELL_BYTES;

/// The most cells one CSV row may have (Letterboxd's files have at most a dozen columns).
pub const MAX_CELLS: usize = 256;

/// Where [`CellBound`] is in the CSV grammar (the `csv` crate's defaults: `,` between cells, `"`
/// quotes with `""` inside, CR, LF or CRLF ending a row).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum CsvState {
    /// At the start of a cell.
    Start,
    Unquoted,
    Quoted,
    /// A quote inside a quoted cell: its end, or the first of an escaped pair.
    AfterQuote,
}

/// Bounds the memory a CSV file costs before the parser sees it. The content of a cell beyond
/// `max_cell` + 1 bytes is dropped, so the parser sees a cell just over the limit and its row
/// becomes a problem row. Only bytes that leave the grammar where it was are dropped (a byte
/// after a closing quote, a quote that opens or closes a cell, a separator are always handed on),
/// and line breaks always pass (they number the lines). A row that still hands over more than
/// `max_row` bytes or [`MAX_CELLS`] cells ends the file with an error.
pub struct CellBound<R> {
    inner: R,
    state: CsvState,
    cell: usize,
    row: usize,
    cells: usize,
    max_cell: usize,
    max_row: usize,
}

impl<R> CellBound<R> {
    /// Bounded by [`MAX_CELL_BYTES`] and [`MAX_ROW_BYTES`].
    pub fn new(inner: R) -> Self {
        Self::with_limits(inner, MAX_CELL_BYTES, MAX_ROW_BYTES)
    }

    fn with_limits(inner: R, max_cell: usize, max_row: usize) -> Self {
        CellBound {
            inner,
            state: CsvState::Start,
            cell: 0,
            row: 0,
            cells: 1,
            max_cell,
            max_row,
        }
    }

    /// Moves the grammar on by `b`; whether `b` is handed to the parser.
    fn keep(&mut self, b: u8) -> io::Result<bool> {
        use CsvState::{AfterQuote, Quoted, Start, Unquoted};
        let before = self.state;
        self.state = match (before, b) {
            (Quoted, b'"') => AfterQuote,
            (Quoted, _) => Quoted,
            (Start | AfterQuote, b'"') => Quoted,
            (_, b',') => {
                self.cell = 0;
                self.cells += 1;
                if self.cells > MAX_CELLS {
                    return Err(io::Error::other(format!(
                        "a row of more than {MAX_CELLS} cells"
                    )));
                }
                Start
            }
            (_, b'\n' | b'\r') => {
                self.cell = 0;
                self.row = 0;
                self.cells = 1;
                Start
            }
            _ => Unquoted,
        };
        // A byte of a cell's content (a line break in quotes is one).
        if self.state == Unquoted || (before, self.state) == (Quoted, Quoted) {
            self.cell += 1;
        }
        // Dropped only when it leaves the grammar where it was; line breaks number the lines.
        let line_break = matches!(b, b'\n' | b'\r');
        Ok(self.state != before || line_break || self.cell <= self.max_cell + 1)
    }
}

impl<R: Read> Read for CellBound<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            let n = self.inner.read(buf)?;
            let mut kept = 0;
            for i in 0..n {
                let b = buf[i];
                if self.keep(b)? {
                    buf[kept] = b;
                    kept += 1;
                    self.row += 1;
                    if self.row > self.max_row {
                        return Err(io::Error::other(format!(
                            "a row of more than {} MiB",
                            self.max_row >> 20
                        )));
                    }
                }
            }
            // Everything read was dropped: read on (0 would mean the end of the file).
            if n == 0 || kept > 0 {
                return Ok(kept);
            }
        }
    }
}

/// The longest run of bytes outside JSON strings that is not punctuation or white space: a number
/// or a literal (`true`) is far shorter.
const MAX_TOKEN_BYTES: usize = 1024;

/// Bounds what one JSON value costs the parser: a string longer than [`MAX_CELL_BYTES`] (escapes
/// counted as written), or a number or literal longer than [`MAX_TOKEN_BYTES`], ends the file with
/// an error instead of being read into memory whole.
pub struct JsonBound<R> {
    inner: R,
    in_string: bool,
    escaped: bool,
    run: usize,
}

impl<R> JsonBound<R> {
    pub fn new(inner: R) -> Self {
        JsonBound {
            inner,
            in_string: false,
            escaped: false,
            run: 0,
        }
    }

    fn step(&mut self, b: u8) -> io::Result<()> {
        if self.in_string {
            if self.escaped {
                self.escaped = false;
            } else if b == b'\\' {
                self.escaped = true;
            } else if b == b'"' {
                self.in_string = false;
                self.run = 0;
                return Ok(());
            }
            self.run += 1;
            if self.run > MAX_CELL_BYTES {
                return Err(io::Error::other(format!(
                    "a string of more than {MAX_CELL_BYTES} bytes"
                )));
            }
            return Ok(());
        }
        match b {
            b'"' => {
                self.in_string = true;
                self.run = 0;
            }
            b'{' | b'}' | b'[' | b']' | b',' | b':' | b' ' | b'\t' | b'\n' | b'\r' => self.run = 0,
            _ => {
                self.run += 1;
                if self.run > MAX_TOKEN_BYTES {
                    return Err(io::Error::other(format!(
                        "a number or literal of more than {MAX_TOKEN_BYTES} bytes"
                    )));
                }
            }
        }
        Ok(())
    }
}

impl<R: Read> Read for JsonBound<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        for &b in &buf[..n] {
            self.step(b)?;
        }
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn through(bytes: &[u8], max_cell: usize, max_row: usize) -> io::Result<Vec<u8>> {
        let mut out = Vec::new();
        CellBound::with_limits(bytes, max_cell, max_row).read_to_end(&mut out)?;
        Ok(out)
    }

    fn records(bytes: &[u8]) -> Vec<Vec<Vec<u8>>> {
        let mut csv = csv::ReaderBuilder::new()
            .flexible(true)
            .has_headers(false)
            .from_reader(bytes);
        let mut out = Vec::new();
        let mut record = csv::ByteRecord::new();
        while csv.read_byte_record(&mut record).unwrap_or(false) {
            out.push(record.iter().map(<[u8]>::to_vec).collect());
        }
        out
    }

    #[test]
    fn a_file_within_the_bounds_passes_unchanged() {
        let file = b"Name,Review\r\n\"Alien\",\"He said \"\"run\"\",\nthen, ran\"\nHeat,x\"y\n,\n";
        assert_eq!(
            through(file, MAX_CELL_BYTES, MAX_ROW_BYTES).ok().as_deref(),
            Some(&file[..])
        );
    }

    #[test]
    fn a_long_cell_is_cut_just_over_the_limit_and_the_next_row_is_whole() {
        let long = "ab".repeat(3 * MAX_CELL_BYTES);
        let file = format!("Name,Review\nAlien,\"{long}\"\nHeat,\"\"\"ok\"\"\"\n{long},x\n");
        let out = through(file.as_bytes(), MAX_CELL_BYTES, MAX_ROW_BYTES).unwrap_or_default();
        let rows = records(&out);
        assert_eq!(rows.len(), 4);
        assert_eq!(rows[1][1].len(), MAX_CELL_BYTES + 1);
        assert_eq!(rows[2], [&b"Heat"[..], &b"\"ok\""[..]]);
        assert_eq!(
            (rows[3][0].len(), &rows[3][1][..]),
            (MAX_CELL_BYTES + 1, &b"x"[..])
        );
    }

    #[test]
    fn a_row_of_quotes_and_line_breaks_ends_the_file() {
        let file = format!("Name\n\"{}\"\n", "\"\"\n".repeat(MAX_ROW_BYTES / 3 + 1));
        let err = through(file.as_bytes(), MAX_CELL_BYTES, MAX_ROW_BYTES)
            .err()
            .map(|e| e.to_string());
        assert_eq!(err.as_deref(), Some("a row of more than 8 MiB"));
        let commas = format!("Name\n{}\n", ",".repeat(MAX_CELLS));
        let err = through(commas.as_bytes(), MAX_CELL_BYTES, MAX_ROW_BYTES)
            .err()
            .map(|e| e.to_string());
        assert_eq!(err.as_deref(), Some("a row of more than 256 cells"));
    }

    #[test]
    fn a_quote_after_a_long_cell_is_not_lost() {
        // The byte after a closing quote turns the cell unquoted: dropping it would leave the
        // parser inside the quotes for the rest of the file.
        let file = b"\"aaaaaaaaaa\"b\"xy,zw\nnext,row\n";
        let out = through(file, 4, 64).unwrap_or_default();
        assert_eq!(records(&out).len(), records(file).len());
        assert_eq!(records(&out)[1], [&b"next"[..], &b"row"[..]]);
    }

    #[test]
    fn long_strings_and_numbers_end_a_json_file() {
        let read = |s: String| {
            let mut out = Vec::new();
            JsonBound::new(s.as_bytes())
                .read_to_end(&mut out)
                .map(|_| out.len())
                .map_err(|e| e.to_string())
        };
        let fine = format!(
            r#"{{"a": "{}", "b": [1.5e3, true, "\"\\"]}}"#,
            "x".repeat(1000)
        );
        assert_eq!(read(fine.clone()), Ok(fine.len()));
        let long = format!(r#"{{"a": "{}"}}"#, "\\\"".repeat(MAX_CELL_BYTES));
        assert_eq!(
            read(long),
            Err(format!("a string of more than {MAX_CELL_BYTES} bytes"))
        );
        let number = format!(r#"{{"a": 1{}}}"#, "0".repeat(MAX_TOKEN_BYTES));
        assert_eq!(
            read(number),
            Err(format!(
                "a number or literal of more than {MAX_TOKEN_BYTES} bytes"
            ))
        );
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]

        /// Against the real parser: the bounded file has the same rows and cells; a cell within the
        /// limit is unchanged, a longer one is still longer than the limit, and no longer than the
        /// limit, the byte after its closing quote and the quotes and line breaks it held.
        #[test]
        fn the_parser_reads_the_same_rows_with_long_cells_cut(
            bytes in proptest::collection::vec(prop_oneof![
                Just(b'a'), Just(b'b'), Just(b'"'), Just(b','), Just(b'\n'), Just(b'\r')
            ], 0..120)
        ) {
            let max_cell = 4;
            let Ok(out) = through(&bytes, max_cell, 1 << 20) else {
                return Err(TestCaseError::fail("no row is that long"));
            };
            let (raw, cut) = (records(&bytes), records(&out));
            prop_assert_eq!(raw.len(), cut.len(), "{:?} -> {:?}", raw, cut);
            for (r, c) in raw.iter().zip(&cut) {
                prop_assert_eq!(r.len(), c.len());
                for (rf, cf) in r.iter().zip(c) {
                    if rf.len() <= max_cell {
                        prop_assert_eq!(rf, cf);
                    } else {
                        prop_assert!(cf.len() > max_cell, "{:?} -> {:?}", rf, cf);
                        let kept = |f: &Vec<u8>| f.iter().filter(|b| matches!(b, b'\n' | b'\r' | b'"')).count();
                        // The byte after a closing quote is kept too (it turns the cell unquoted).
                        prop_assert!(cf.len() <= max_cell + 2 + kept(rf), "{:?} -> {:?}", rf, cf);
                    }
                }
            }
        }
    }
}
