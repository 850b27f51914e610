//! spf13/pflag's flag set, reduced to the value types etcdctl uses: definitions, parsing
//! of command lines (with pflag's error texts), `Set`, and the default-value rendering
//! that help output shows.

use crate::go::{csv, duration, quote::quote_with, strconv};

/// A flag's default value, which also fixes its type.
#[derive(Debug, Clone, Copy)]
pub enum Default {
    /// `BoolVar`.
    Bool(bool),
    /// `StringVar`.
    Str(&'static str),
    /// `Int64Var` / `IntVar`.
    Int(i64),
    /// `DurationVar`, in nanoseconds.
    Duration(i64),
    /// `StringSliceVar`.
    Strings(&'static [&'static str]),
}

/// A flag definition, as written in the command tables.
#[derive(Debug, Clone, Copy)]
pub struct FlagSpec {
    /// Long name, without dashes.
    pub name: &'static str,
    /// One-letter shorthand.
    pub shorthand: Option<char>,
    /// Default value (and type).
    pub default: Default,
    /// Help text.
    pub usage: &'static str,
}

impl FlagSpec {
    /// A flag without shorthand.
    pub const fn new(name: &'static str, default: Default, usage: &'static str) -> Self {
        FlagSpec {
            name,
            shorthand: None,
            default,
            usage,
        }
    }

    /// A flag with a shorthand.
    pub const fn short(name: &'static str, s: char, default: Default, usage: &'static str) -> Self {
        FlagSpec {
            name,
            shorthand: Some(s),
            default,
            usage,
        }
    }
}

/// A flag's current value.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// A bool.
    Bool(bool),
    /// A string.
    Str(String),
    /// An integer.
    Int(i64),
    /// A duration in nanoseconds.
    Duration(i64),
    /// A string list.
    Strings(Vec<String>),
}

impl Value {
    fn from_default(d: Default) -> Value {
        match d {
            Default::Bool(b) => Value::Bool(b),
            Default::Str(s) => Value::Str(s.to_string()),
            Default::Int(i) => Value::Int(i),
            Default::Duration(d) => Value::Duration(d),
            Default::Strings(v) => Value::Strings(v.iter().map(|s| s.to_string()).collect()),
        }
    }

    /// pflag's `Value.String()`.
    pub fn to_go_string(&self) -> String {
        match self {
            Value::Bool(b) => b.to_string(),
            Value::Str(s) => s.clone(),
            Value::Int(i) => i.to_string(),
            Value::Duration(d) => duration::format(*d),
            Value::Strings(v) => format!("[{}]", csv::write_record(v)),
        }
    }

    /// pflag's `Value.Type()`.
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::Bool(_) => "bool",
            Value::Str(_) => "string",
            Value::Int(_) => "int64",
            Value::Duration(_) => "duration",
            Value::Strings(_) => "stringSlice",
        }
    }
}

/// A defined flag and its state.
#[derive(Debug, Clone)]
pub struct Flag {
    /// The definition.
    pub spec: FlagSpec,
    /// Help text (the definition's, or a computed one for cobra's help flag).
    pub usage: String,
    /// Current value.
    pub value: Value,
    /// Set on the command line (or from the environment).
    pub changed: bool,
    /// True if inherited from a parent's persistent flags.
    pub inherited: bool,
}

impl Flag {
    /// pflag's `DefValue`.
    pub fn def_value(&self) -> String {
        Value::from_default(self.spec.default).to_go_string()
    }

    /// pflag's `NoOptDefVal`: bools may be given without a value.
    pub fn no_opt_def_val(&self) -> Option<&'static str> {
        matches!(self.spec.default, Default::Bool(_)).then_some("true")
    }

    /// Go's `Value.Set(s)`: parses `s` into this flag's type (error text without the
    /// `invalid argument` prefix).
    fn set_value(&mut self, s: &str) -> Result<(), String> {
        match &mut self.value {
            Value::Bool(b) => *b = strconv::parse_bool(s)?,
            Value::Str(v) => *v = s.to_string(),
            Value::Int(i) => *i = strconv::parse_int(s, 0)?,
            Value::Duration(d) => *d = duration::parse(s)?,
            Value::Strings(v) => {
                let items = if s.is_empty() {
                    Vec::new()
                } else {
                    csv::read_record(s)?
                };
                if self.changed {
                    v.extend(items);
                } else {
                    *v = items;
                }
            }
        }
        Ok(())
    }

    /// How pflag names this flag in errors: `-w, --write-out` or `--name`.
    fn error_name(&self) -> String {
        match self.spec.shorthand {
            Some(s) => format!("-{s}, --{}", self.spec.name),
            None => format!("--{}", self.spec.name),
        }
    }
}

/// The flags of one command (its own, its persistent ones and inherited ones).
#[derive(Debug, Clone, Default)]
pub struct FlagSet {
    flags: Vec<Flag>,
}

impl FlagSet {
    /// Adds a flag unless one with that name already exists (a command's own flag shadows
    /// an inherited one).
    pub fn add(&mut self, spec: FlagSpec, inherited: bool) {
        self.add_with_usage(spec, spec.usage.to_string(), inherited);
    }

    /// Like [`FlagSet::add`] with a help text computed at run time.
    pub fn add_with_usage(&mut self, spec: FlagSpec, usage: String, inherited: bool) {
        if self.lookup(spec.name).is_none() {
            let value = Value::from_default(spec.default);
            self.flags.push(Flag {
                spec,
                usage,
                value,
                changed: false,
                inherited,
            });
        }
    }

    /// The flag called `name`.
    pub fn lookup(&self, name: &str) -> Option<&Flag> {
        self.flags.iter().find(|f| f.spec.name == name)
    }

    fn lookup_mut(&mut self, name: &str) -> Option<&mut Flag> {
        self.flags.iter_mut().find(|f| f.spec.name == name)
    }

    fn shorthand(&self, c: char) -> Option<&Flag> {
        self.flags.iter().find(|f| f.spec.shorthand == Some(c))
    }

    /// All flags sorted by name (pflag's `VisitAll`).
    pub fn sorted(&self) -> Vec<&Flag> {
        let mut v: Vec<&Flag> = self.flags.iter().collect();
        v.sort_by(|a, b| a.spec.name.cmp(b.spec.name));
        v
    }

    /// pflag's `FlagSet.Set(name, value)`.
    pub fn set(&mut self, name: &str, value: &str) -> Result<(), String> {
        let flag = self
            .lookup_mut(name)
            .ok_or_else(|| format!("no such flag -{name}"))?;
        if let Err(e) = flag.set_value(value) {
            return Err(format!(
                "invalid argument {} for {} flag: {e}",
                quote_with(value.as_bytes(), '"'),
                quote_with(flag.error_name().as_bytes(), '"')
            ));
        }
        flag.changed = true;
        Ok(())
    }

    /// True if a bool flag of this name (or shorthand, when `short`) exists.
    pub fn has_no_opt_def_val(&self, name: &str, short: bool) -> bool {
        let flag = if short {
            name.chars().next().and_then(|c| self.shorthand(c))
        } else {
            self.lookup(name)
        };
        flag.is_some_and(|f| f.no_opt_def_val().is_some())
    }

    /// pflag's `Parse` with interspersed arguments: sets flags, returns the positional
    /// arguments, or the first error (pflag's text).
    pub fn parse(&mut self, args: &[String]) -> Result<Vec<String>, String> {
        let mut positional = Vec::new();
        let mut rest: Vec<String> = args.to_vec();
        rest.reverse();
        while let Some(s) = rest.pop() {
            if s.len() < 2 || !s.starts_with('-') {
                positional.push(s);
                continue;
            }
            if s == "--" {
                positional.extend(rest.drain(..).rev());
                break;
            }
            if let Some(name) = s.strip_prefix("--") {
                self.parse_long(&s, name, &mut rest)?;
            } else {
                self.parse_short(&s[1..], &mut rest)?;
            }
        }
        Ok(positional)
    }

    fn parse_long(&mut self, s: &str, name: &str, rest: &mut Vec<String>) -> Result<(), String> {
        if name.is_empty() || name.starts_with('-') || name.starts_with('=') {
            return Err(format!("bad flag syntax: {s}"));
        }
        let (name, inline) = match name.split_once('=') {
            Some((n, v)) => (n, Some(v.to_string())),
            None => (name, None),
        };
        let flag = self
            .lookup(name)
            .ok_or_else(|| format!("unknown flag: --{name}"))?;
        let value = match (inline, flag.no_opt_def_val()) {
            (Some(v), _) => v,
            (None, Some(d)) => d.to_string(),
            (None, None) => rest
                .pop()
                .ok_or_else(|| format!("flag needs an argument: {s}"))?,
        };
        let name = name.to_string();
        self.set(&name, &value)
    }

    fn parse_short(&mut self, shorthands: &str, rest: &mut Vec<String>) -> Result<(), String> {
        // pflag hands every shorthand of a group the *original* remaining arguments, so a
        // value consumed by an earlier shorthand is consumed again; mirror that.
        let original = rest.clone();
        let mut shorts = shorthands;
        while !shorts.is_empty() {
            let (out_shorts, out_rest) = self.parse_single_short(shorts, original.clone())?;
            *rest = out_rest;
            shorts = out_shorts;
        }
        Ok(())
    }

    fn parse_single_short<'a>(
        &mut self,
        shorthands: &'a str,
        mut args: Vec<String>,
    ) -> Result<(&'a str, Vec<String>), String> {
        if shorthands.starts_with("test.") {
            return Ok(("", args));
        }
        let c = shorthands.chars().next().unwrap_or_default();
        let mut out_shorts = &shorthands[c.len_utf8()..];
        let quoted = quote_with(c.to_string().as_bytes(), '\'');
        let flag = self
            .shorthand(c)
            .ok_or_else(|| format!("unknown shorthand flag: {quoted} in -{shorthands}"))?;
        let value = if out_shorts.starts_with('=') && out_shorts.len() > 1 {
            let v = out_shorts[1..].to_string();
            out_shorts = "";
            v
        } else if let Some(d) = flag.no_opt_def_val() {
            d.to_string()
        } else if !out_shorts.is_empty() {
            let v = out_shorts.to_string();
            out_shorts = "";
            v
        } else if !args.is_empty() {
            args.pop().unwrap_or_default()
        } else {
            return Err(format!("flag needs an argument: {quoted} in -{shorthands}"));
        };
        let name = flag.spec.name;
        self.set(name, &value)?;
        Ok((out_shorts, args))
    }

    /// Typed getters (flags are looked up by the code that defined them, so a missing
    /// flag or a type mismatch is a programming error reported as a default value).
    pub fn get_bool(&self, name: &str) -> bool {
        matches!(self.lookup(name).map(|f| &f.value), Some(Value::Bool(true)))
    }

    /// The string value of `name`.
    pub fn get_str(&self, name: &str) -> String {
        match self.lookup(name).map(|f| &f.value) {
            Some(Value::Str(s)) => s.clone(),
            _ => String::new(),
        }
    }

    /// The integer value of `name`.
    pub fn get_int(&self, name: &str) -> i64 {
        match self.lookup(name).map(|f| &f.value) {
            Some(Value::Int(i)) => *i,
            _ => 0,
        }
    }

    /// The duration value of `name`, in nanoseconds.
    pub fn get_duration(&self, name: &str) -> i64 {
        match self.lookup(name).map(|f| &f.value) {
            Some(Value::Duration(d)) => *d,
            _ => 0,
        }
    }

    /// The string-list value of `name`.
    pub fn get_strings(&self, name: &str) -> Vec<String> {
        match self.lookup(name).map(|f| &f.value) {
            Some(Value::Strings(v)) => v.clone(),
            _ => Vec::new(),
        }
    }

    /// Whether `name` was set.
    pub fn changed(&self, name: &str) -> bool {
        self.lookup(name).is_some_and(|f| f.changed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set() -> FlagSet {
        let mut fs = FlagSet::default();
        fs.add(FlagSpec::new("prefix", Default::Bool(false), "p"), false);
        fs.add(FlagSpec::new("limit", Default::Int(0), "l"), false);
        fs.add(
            FlagSpec::short("write-out", 'w', Default::Str("simple"), "w"),
            true,
        );
        fs.add(
            FlagSpec::short("interactive", 'i', Default::Bool(false), "i"),
            false,
        );
        fs.add(
            FlagSpec::new("endpoints", Default::Strings(&["127.0.0.1:2379"]), "e"),
            true,
        );
        fs.add(
            FlagSpec::new("dial-timeout", Default::Duration(2_000_000_000), "d"),
            true,
        );
        fs
    }

    fn args(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn parses_interspersed_flags() {
        let mut fs = set();
        let pos = fs
            .parse(&args(&[
                "a", "--prefix", "--limit", "3", "-w", "json", "b", "--", "--x",
            ]))
            .unwrap();
        assert_eq!(pos, args(&["a", "b", "--x"]));
        assert!(fs.get_bool("prefix"));
        assert_eq!(fs.get_int("limit"), 3);
        assert_eq!(fs.get_str("write-out"), "json");
    }

    #[test]
    fn parses_inline_and_grouped_shorthands() {
        let mut fs = set();
        fs.parse(&args(&["-iwjson", "--prefix=false", "--limit=0x10"]))
            .unwrap();
        assert!(fs.get_bool("interactive"));
        assert!(!fs.get_bool("prefix"));
        assert_eq!(fs.get_int("limit"), 16);
        assert_eq!(fs.get_str("write-out"), "json");
    }

    #[test]
    fn string_slices_replace_then_append() {
        let mut fs = set();
        fs.parse(&args(&["--endpoints", "a,b", "--endpoints=c"]))
            .unwrap();
        assert_eq!(fs.get_strings("endpoints"), args(&["a", "b", "c"]));
        assert_eq!(
            fs.lookup("endpoints").unwrap().def_value(),
            "[127.0.0.1:2379]"
        );
    }

    #[test]
    fn reports_pflag_errors() {
        let e = |v: &[&str]| set().parse(&args(v)).unwrap_err();
        assert_eq!(e(&["--foo"]), "unknown flag: --foo");
        assert_eq!(e(&["-x"]), "unknown shorthand flag: 'x' in -x");
        assert_eq!(e(&["--limit"]), "flag needs an argument: --limit");
        assert_eq!(e(&["-w"]), "flag needs an argument: 'w' in -w");
        assert_eq!(e(&["---x"]), "bad flag syntax: ---x");
        assert_eq!(
            e(&["--limit", "x"]),
            "invalid argument \"x\" for \"--limit\" flag: strconv.ParseInt: parsing \"x\": invalid syntax"
        );
        assert_eq!(
            e(&["--dial-timeout=3"]),
            "invalid argument \"3\" for \"--dial-timeout\" flag: time: missing unit in duration \"3\""
        );
        assert_eq!(
            e(&["-i=maybe"]),
            "invalid argument \"maybe\" for \"-i, --interactive\" flag: strconv.ParseBool: parsing \"maybe\": invalid syntax"
        );
    }
}
