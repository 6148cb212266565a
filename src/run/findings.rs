//! `Findings`: every finding of a run, kept in a temporary file instead of in memory.
//!
//! A check at thousands of tables makes close to a million findings, nearly all of them
//! passes. Held as structs they were most of the run's memory. Here each finding is
//! encoded into an anonymous temporary file as it is made (the file has no name, so it
//! vanishes with the process, even a killed one), and only what the terminal and the exit
//! code need stays in memory: the counts, a tally per table, and the findings that did not
//! pass. `run.json` is written from the file, one finding decoded at a time, and each
//! finding is serialised by `Finding`'s own `Serialize`, so the record's bytes are the ones
//! a list held in memory gives.

use std::collections::{BTreeMap, HashMap};
use std::fs::File;
use std::io::{self, BufReader, BufWriter, Read, Write};
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::os::unix::fs::FileExt;
use std::path::PathBuf;

use compact_str::CompactString;
use serde::ser::{Error as _, Serialize, SerializeSeq, Serializer};

use crate::chunked::Chunked;
use crate::error::SourceLocation;
use crate::run::Totals;
use crate::verify::{Finding, Status};

/// Counts of one table's (or group's) findings, for the terminal's summary table.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TableTally {
    /// Checks that held.
    pub passed: usize,
    /// Checks that failed.
    pub failed: usize,
    /// Checks that could not run.
    pub skipped: usize,
    /// Whether some finding of the group is about a relation (its code is not a
    /// migration's or a function's), so the group is labelled as a table.
    pub relation_finding: bool,
}

impl TableTally {
    /// Count one finding of the group: its status, and whether it is about a relation.
    fn count(&mut self, status: Status, relation: bool) {
        match status {
            Status::Pass => self.passed += 1,
            Status::Fail => self.failed += 1,
            Status::Skip => self.skipped += 1,
        }
        self.relation_finding |= relation;
    }
}

/// Where findings go while a run makes them (see the module comment). `seal` ends it.
pub struct FindingSink {
    spool: BufWriter<File>,
    kept: Kept,
    /// The tally of the table the last finding named, out of `kept.tables` while its
    /// findings keep coming: a relation's findings come together, and looking the table up
    /// in the map for each finding cost a share that grew with the number of tables.
    current: Option<(CompactString, TableTally)>,
    scratch: Vec<u8>,
    /// The first error writing to the spool; every later finding is only counted.
    error: Option<io::Error>,
}

/// What a run keeps in memory beside its spool.
#[derive(Default)]
struct Kept {
    codes: Vec<&'static str>,
    code_index: HashMap<&'static str, u16>,
    notable: Chunked<Finding>,
    tables: BTreeMap<CompactString, TableTally>,
    totals: Totals,
}

impl FindingSink {
    /// A sink spooling into a new anonymous file in the temporary folder.
    pub fn new() -> crate::error::Result<Self> {
        Ok(FindingSink {
            spool: BufWriter::with_capacity(1 << 16, tempfile::tempfile().map_err(spool_error)?),
            kept: Kept::default(),
            current: None,
            scratch: Vec::with_capacity(512),
            error: None,
        })
    }

    /// Add `finding` after the ones already added.
    pub fn push(&mut self, finding: Finding) {
        let code = match self.kept.code_index.get(finding.code) {
            Some(&i) => i,
            None => {
                let i = u16::try_from(self.kept.codes.len()).expect("fewer than 65,536 codes");
                self.kept.codes.push(finding.code);
                self.kept.code_index.insert(finding.code, i);
                i
            }
        };
        // A relation's findings come together: its tally is taken out of the map at the
        // first one and put back when another table's finding comes, so a table name
        // longer than 24 bytes is not copied again for each of them.
        if self.current.as_ref().map(|(t, _)| t) != Some(&finding.table) {
            self.put_back_current();
            let tally = self.kept.tables.remove(&finding.table).unwrap_or_default();
            self.current = Some((finding.table.clone(), tally));
        }
        let relation =
            !finding.code.starts_with("migration.") && !finding.code.starts_with("function.");
        if let Some((_, t)) = self.current.as_mut() {
            t.count(finding.status, relation);
        }
        match finding.status {
            Status::Pass => self.kept.totals.passed += 1,
            Status::Fail => self.kept.totals.failed += 1,
            Status::Skip => self.kept.totals.skipped += 1,
        }
        if self.error.is_none() {
            self.scratch.clear();
            encode(code, &finding, &mut self.scratch);
            if let Err(e) = self.spool.write_all(&self.scratch) {
                self.error = Some(e);
            }
        }
        if finding.status != Status::Pass {
            self.kept.notable.push(finding);
        }
    }

    /// Return the current table's tally to the map.
    fn put_back_current(&mut self) {
        if let Some((table, tally)) = self.current.take() {
            self.kept.tables.insert(table, tally);
        }
    }

    /// Every finding added, ready to be read back; the first error writing the spool, if
    /// any, is returned here.
    pub fn seal(mut self) -> crate::error::Result<Findings> {
        self.put_back_current();
        if let Some(e) = self.error {
            return Err(spool_error(e));
        }
        let spool = self
            .spool
            .into_inner()
            .map_err(|e| spool_error(e.into_error()))?;
        Ok(Findings {
            spool,
            kept: self.kept,
        })
    }
}

impl Extend<Finding> for FindingSink {
    fn extend<I: IntoIterator<Item = Finding>>(&mut self, items: I) {
        for f in items {
            self.push(f);
        }
    }
}

/// An error of the spool, named by the folder it lives in (the file has no name).
pub fn spool_error(e: io::Error) -> crate::error::Error {
    crate::error::Error::io(std::env::temp_dir(), e)
}

/// Every finding of a run, in the order it was made: on disk, with the counts and the
/// findings that did not pass in memory (see the module comment).
pub struct Findings {
    spool: File,
    kept: Kept,
}

impl std::fmt::Debug for Findings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Findings")
            .field("totals", &self.kept.totals)
            .field("notable", &self.kept.notable.len())
            .finish()
    }
}

impl Findings {
    /// Counts by status.
    pub fn totals(&self) -> Totals {
        self.kept.totals
    }

    /// How many findings there are.
    pub fn len(&self) -> usize {
        self.kept.totals.total()
    }

    /// True when the run made none.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The findings that failed or were skipped, in run order.
    pub fn notable(&self) -> impl Iterator<Item = &Finding> + '_ {
        self.kept.notable.iter()
    }

    /// The counts per table (the finding's `table` field), in name order.
    pub fn per_table(&self) -> &BTreeMap<CompactString, TableTally> {
        &self.kept.tables
    }

    /// Every finding, decoded one at a time from the spool, in run order. Each reader
    /// keeps its own place in the file, so readers never disturb one another.
    pub fn read(&self) -> FindingReader<'_> {
        FindingReader {
            input: BufReader::with_capacity(
                1 << 16,
                ReadAt {
                    file: &self.spool,
                    at: 0,
                },
            ),
            codes: &self.kept.codes,
            left: self.len(),
            record: Vec::with_capacity(512),
        }
    }
}

/// A file read from a place of its own, not from the file's shared offset.
struct ReadAt<'a> {
    file: &'a File,
    at: u64,
}

impl Read for ReadAt<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.file.read_at(buf, self.at)?;
        self.at += n as u64;
        Ok(n)
    }
}

/// The findings of a [`Findings`] spool, read back in order.
pub struct FindingReader<'a> {
    input: BufReader<ReadAt<'a>>,
    codes: &'a [&'static str],
    left: usize,
    record: Vec<u8>,
}

impl Iterator for FindingReader<'_> {
    type Item = io::Result<Finding>;

    fn next(&mut self) -> Option<io::Result<Finding>> {
        if self.left == 0 {
            return None;
        }
        self.left -= 1;
        Some(self.next_finding())
    }
}

impl FindingReader<'_> {
    fn next_finding(&mut self) -> io::Result<Finding> {
        let mut len = [0u8; 4];
        self.input.read_exact(&mut len)?;
        self.record.resize(u32::from_le_bytes(len) as usize, 0);
        self.input.read_exact(&mut self.record)?;
        decode(&self.record, self.codes).ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::InvalidData,
                "the run's findings spool is damaged",
            )
        })
    }
}

/// Written as a sequence, exactly as a `Vec` of the same findings would be.
impl Serialize for Findings {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut seq = serializer.serialize_seq(Some(self.len()))?;
        for f in self.read() {
            seq.serialize_element(&f.map_err(S::Error::custom)?)?;
        }
        seq.end()
    }
}

// The spool's encoding: per finding, its length (u32) and then its fields in order. A text
// is a u32 length and its bytes; an optional value is a 0 or 1 byte and then the value.

fn put_text(out: &mut Vec<u8>, text: &[u8]) {
    out.extend_from_slice(&(text.len() as u32).to_le_bytes());
    out.extend_from_slice(text);
}

fn put_opt_text(out: &mut Vec<u8>, text: Option<&str>) {
    match text {
        None => out.push(0),
        Some(t) => {
            out.push(1);
            put_text(out, t.as_bytes());
        }
    }
}

fn put_opt_number(out: &mut Vec<u8>, n: Option<usize>) {
    match n {
        None => out.push(0),
        Some(n) => {
            out.push(1);
            out.extend_from_slice(&(n as u64).to_le_bytes());
        }
    }
}

fn encode(code: u16, f: &Finding, out: &mut Vec<u8>) {
    out.extend_from_slice(&[0; 4]);
    out.extend_from_slice(&code.to_le_bytes());
    out.push(match f.status {
        Status::Pass => 0,
        Status::Fail => 1,
        Status::Skip => 2,
    });
    put_text(out, f.table.as_bytes());
    put_text(out, f.object.as_bytes());
    put_opt_text(out, f.expected.as_deref());
    put_opt_text(out, f.actual.as_deref());
    put_text(out, f.message.as_bytes());
    match &f.location {
        None => out.push(0),
        Some(l) => {
            out.push(1);
            put_text(out, l.file.as_os_str().as_bytes());
            put_opt_number(out, l.line);
            put_opt_number(out, l.column);
        }
    }
    out.extend_from_slice(&(f.requirements.len() as u32).to_le_bytes());
    for r in &f.requirements {
        put_text(out, r.as_bytes());
    }
    put_opt_text(out, f.hint.as_deref());
    put_opt_text(out, f.repro.as_deref());
    let len = (out.len() - 4) as u32;
    out[..4].copy_from_slice(&len.to_le_bytes());
}

/// A cursor over one encoded finding; every read is `None` past its end.
struct Fields<'a>(&'a [u8]);

impl<'a> Fields<'a> {
    fn bytes(&mut self, n: usize) -> Option<&'a [u8]> {
        if self.0.len() < n {
            return None;
        }
        let (head, rest) = self.0.split_at(n);
        self.0 = rest;
        Some(head)
    }

    fn byte(&mut self) -> Option<u8> {
        self.bytes(1).map(|b| b[0])
    }

    fn u32(&mut self) -> Option<u32> {
        Some(u32::from_le_bytes(self.bytes(4)?.try_into().ok()?))
    }

    fn raw_text(&mut self) -> Option<&'a [u8]> {
        let n = self.u32()? as usize;
        self.bytes(n)
    }

    fn text(&mut self) -> Option<&'a str> {
        std::str::from_utf8(self.raw_text()?).ok()
    }

    fn opt<T>(&mut self, read: impl FnOnce(&mut Self) -> Option<T>) -> Option<Option<T>> {
        match self.byte()? {
            0 => Some(None),
            1 => read(self).map(Some),
            _ => None,
        }
    }

    fn number(&mut self) -> Option<usize> {
        usize::try_from(u64::from_le_bytes(self.bytes(8)?.try_into().ok()?)).ok()
    }
}

fn decode(record: &[u8], codes: &[&'static str]) -> Option<Finding> {
    let mut r = Fields(record);
    let code = codes.get(u16::from_le_bytes(r.bytes(2)?.try_into().ok()?) as usize)?;
    let status = match r.byte()? {
        0 => Status::Pass,
        1 => Status::Fail,
        2 => Status::Skip,
        _ => return None,
    };
    let table = r.text()?.into();
    let object = r.text()?.into();
    let expected = r.opt(|r| r.text().map(CompactString::from))?;
    let actual = r.opt(|r| r.text().map(CompactString::from))?;
    let message = r.text()?.to_string();
    let location = r.opt(|r| {
        let file = PathBuf::from(std::ffi::OsString::from_vec(r.raw_text()?.to_vec()));
        let line = r.opt(Fields::number)?;
        let column = r.opt(Fields::number)?;
        Some(SourceLocation { file, line, column })
    })?;
    let requirements = (0..r.u32()?)
        .map(|_| r.text().map(str::to_string))
        .collect::<Option<Vec<_>>>()?;
    let hint = r.opt(|r| r.text().map(str::to_string))?;
    let repro = r.opt(|r| r.text().map(str::to_string))?;
    r.0.is_empty().then_some(Finding {
        code,
        table,
        object,
        status,
        expected,
        actual,
        message,
        location,
        requirements,
        hint,
        repro,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const CODES: &[&str] = &["table.exists", "column.type", "migration.applied"];

    fn text() -> impl Strategy<Value = String> {
        prop_oneof![
            "[a-z_.]{0,12}",
            "\\PC{0,40}",
            Just("line\nbreak \"q\" \\".into())
        ]
    }

    fn finding() -> impl Strategy<Value = Finding> {
        (
            // Tables from a set of two as often as not, so that a table's findings are
            // interrupted by another's and come back (the tally is kept aside per table).
            (0..CODES.len(), 0..3u8, prop_oneof!["[ab]", text()], text()),
            (
                proptest::option::of(text()),
                proptest::option::of(text()),
                text(),
            ),
            proptest::option::of((
                text(),
                proptest::option::of(0..100_000usize),
                proptest::option::of(0..500usize),
            )),
            (
                proptest::collection::vec(text(), 0..3),
                proptest::option::of(text()),
                proptest::option::of(text()),
            ),
        )
            .prop_map(
                |(
                    (code, status, table, object),
                    (expected, actual, message),
                    location,
                    (requirements, hint, repro),
                )| Finding {
                    code: CODES[code],
                    table: table.into(),
                    object: object.into(),
                    status: [Status::Pass, Status::Fail, Status::Skip][status as usize],
                    expected: expected.map(Into::into),
                    actual: actual.map(Into::into),
                    message,
                    location: location.map(|(file, line, column)| SourceLocation {
                        file: file.into(),
                        line,
                        column,
                    }),
                    requirements,
                    hint,
                    repro,
                },
            )
    }

    fn sealed(findings: &[Finding]) -> Findings {
        let mut sink = FindingSink::new().unwrap();
        sink.extend(findings.iter().cloned());
        sink.seal().unwrap()
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        /// The spool gives back every finding unchanged and in order, serialises exactly
        /// as the same findings in a `Vec` do, and can be read more than once.
        #[test]
        fn the_spool_gives_back_every_finding_and_the_same_json(
            findings in proptest::collection::vec(finding(), 0..40)
        ) {
            let spooled = sealed(&findings);
            let back: Vec<Finding> = spooled.read().collect::<io::Result<_>>().unwrap();
            prop_assert_eq!(&back, &findings);
            let again: Vec<Finding> = spooled.read().collect::<io::Result<_>>().unwrap();
            prop_assert_eq!(&again, &findings);
            prop_assert_eq!(
                serde_json::to_string_pretty(&spooled).unwrap(),
                serde_json::to_string_pretty(&findings).unwrap()
            );
            prop_assert_eq!(spooled.totals(), Totals::of(&findings));
            let notable: Vec<&Finding> = spooled.notable().collect();
            let expected: Vec<&Finding> =
                findings.iter().filter(|f| f.status != Status::Pass).collect();
            prop_assert_eq!(notable, expected);
            let mut tables: BTreeMap<CompactString, TableTally> = BTreeMap::new();
            for f in &findings {
                let t = tables.entry(f.table.clone()).or_default();
                match f.status {
                    Status::Pass => t.passed += 1,
                    Status::Fail => t.failed += 1,
                    Status::Skip => t.skipped += 1,
                }
                t.relation_finding |= f.code != "migration.applied";
            }
            prop_assert_eq!(spooled.per_table(), &tables);
        }
    }

    #[test]
    fn a_damaged_spool_is_an_error_not_a_wrong_finding() {
        let f = Finding {
            code: "table.exists",
            table: "t".into(),
            object: "t".into(),
            status: Status::Pass,
            expected: None,
            actual: None,
            message: "relation `t` exists".into(),
            location: None,
            requirements: vec![],
            hint: None,
            repro: None,
        };
        let spooled = sealed(&[f.clone(), f]);
        // Cut the second record short.
        let len = spooled.spool.metadata().unwrap().len();
        spooled.spool.set_len(len - 3).unwrap();
        let read: Vec<io::Result<Finding>> = spooled.read().collect();
        assert!(read[0].is_ok());
        assert!(read[1].is_err());
        assert!(serde_json::to_string(&spooled).is_err());
    }
}
