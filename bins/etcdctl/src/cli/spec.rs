//! etcdctl 3.4's command tree: names, help texts and flags of every command, in the order
//! etcdctl adds them (which is the order cobra suggests them in). The help and completion
//! commands cobra adds on its own are included.

use super::flags::{Default as D, FlagSpec as F};

/// One command of the tree.
#[derive(Debug)]
pub struct CommandSpec {
    /// cobra's `Use` (the first word is the name).
    pub use_line: &'static str,
    /// One-line description.
    pub short: &'static str,
    /// Long description ("" for none).
    pub long: &'static str,
    /// Has a `Run` function.
    pub runnable: bool,
    /// Local flags.
    pub flags: &'static [F],
    /// Persistent flags (inherited by subcommands).
    pub persistent: &'static [F],
    /// Subcommands, in insertion order.
    pub subcommands: &'static [CommandSpec],
    /// cobra's `DisableFlagsInUseLine`.
    pub no_flags_in_use_line: bool,
    /// cobra's `Args: NoArgs`.
    pub no_args: bool,
}

impl CommandSpec {
    /// cobra's `Name()`: the first word of `Use`.
    pub fn name(&self) -> &'static str {
        self.use_line.split(' ').next().unwrap_or("")
    }
}

const fn leaf(use_line: &'static str, short: &'static str, flags: &'static [F]) -> CommandSpec {
    CommandSpec {
        use_line,
        short,
        long: "",
        runnable: true,
        flags,
        persistent: &[],
        subcommands: &[],
        no_flags_in_use_line: false,
        no_args: false,
    }
}

const fn leaf_long(
    use_line: &'static str,
    short: &'static str,
    long: &'static str,
    flags: &'static [F],
) -> CommandSpec {
    CommandSpec {
        long,
        ..leaf(use_line, short, flags)
    }
}

const fn group(
    use_line: &'static str,
    short: &'static str,
    subcommands: &'static [CommandSpec],
) -> CommandSpec {
    CommandSpec {
        runnable: false,
        subcommands,
        ..leaf(use_line, short, &[])
    }
}

const fn b(name: &'static str, default: bool, usage: &'static str) -> F {
    F::new(name, D::Bool(default), usage)
}

const fn s(name: &'static str, default: &'static str, usage: &'static str) -> F {
    F::new(name, D::Str(default), usage)
}

const fn i(name: &'static str, default: i64, usage: &'static str) -> F {
    F::new(name, D::Int(default), usage)
}

const SECOND: i64 = 1_000_000_000;

/// The global flags (persistent flags of the root command).
pub const GLOBAL_FLAGS: &[F] = &[
    F::new("endpoints", D::Strings(&["127.0.0.1:2379"]), "gRPC endpoints"),
    b("debug", false, "enable client-side debug logging"),
    F::short("write-out", 'w', D::Str("simple"), "set the output format (fields, json, protobuf, simple, table)"),
    b("hex", false, "print byte strings as hex encoded strings"),
    F::new("dial-timeout", D::Duration(2 * SECOND), "dial timeout for client connections"),
    F::new("command-timeout", D::Duration(5 * SECOND), "timeout for short running command (excluding dial timeout)"),
    F::new("keepalive-time", D::Duration(2 * SECOND), "keepalive time for client connections"),
    F::new("keepalive-timeout", D::Duration(6 * SECOND), "keepalive timeout for client connections"),
    b("insecure-transport", true, "disable transport security for client connections"),
    b("insecure-discovery", true, "accept insecure SRV records describing cluster endpoints"),
    b("insecure-skip-tls-verify", false, "skip server certificate verification (CAUTION: this option should be enabled only for testing purposes)"),
    s("cert", "", "identify secure client using this TLS certificate file"),
    s("key", "", "identify secure client using this TLS key file"),
    s("cacert", "", "verify certificates of TLS-enabled secure servers using this CA bundle"),
    s("user", "", "username[:password] for authentication (prompt if password is not supplied)"),
    s("password", "", "password for authentication (if this option is used, --user option shouldn't include password)"),
    F::short("discovery-srv", 'd', D::Str(""), "domain name to query for SRV records describing cluster endpoints"),
    s("discovery-srv-name", "", "service name to query when using DNS discovery"),
];

const CLUSTER_FLAG: F = b(
    "cluster",
    false,
    "use all endpoints from the cluster member list",
);

pub const GET_FLAGS: &[F] = &[
    s("consistency", "l", "Linearizable(l) or Serializable(s)"),
    s(
        "order",
        "",
        "Order of results; ASCEND or DESCEND (ASCEND by default)",
    ),
    s(
        "sort-by",
        "",
        "Sort target; CREATE, KEY, MODIFY, VALUE, or VERSION",
    ),
    i("limit", 0, "Maximum number of results"),
    b("prefix", false, "Get keys with matching prefix"),
    b(
        "from-key",
        false,
        "Get keys that are greater than or equal to the given key using byte compare",
    ),
    i("rev", 0, "Specify the kv revision"),
    b("keys-only", false, "Get only the keys"),
    // etcdctl 3.5's flag (etcdctl 3.4 lacks it): our one deliberate addition to `get`.
    b("count-only", false, "Get only the count"),
    b(
        "print-value-only",
        false,
        "Only write values when using the \"simple\" output format",
    ),
];

pub const PUT_FLAGS: &[F] = &[
    s(
        "lease",
        "0",
        "lease ID (in hexadecimal) to attach to the key",
    ),
    b(
        "prev-kv",
        false,
        "return the previous key-value pair before modification",
    ),
    b(
        "ignore-value",
        false,
        "updates the key using its current value",
    ),
    b(
        "ignore-lease",
        false,
        "updates the key using its current lease",
    ),
];

pub const DEL_FLAGS: &[F] = &[
    b("prefix", false, "delete keys with matching prefix"),
    b("prev-kv", false, "return deleted key-value pairs"),
    b(
        "from-key",
        false,
        "delete keys that are greater than or equal to the given key using byte compare",
    ),
];

const PUT_LONG: &str = "
Puts the given key into the store.

When <value> begins with '-', <value> is interpreted as a flag.
Insert '--' for workaround:

$ put <key> -- <value>
$ put -- <key> <value>

If <value> isn't given as a command line argument and '--ignore-value' is not specified,
this command tries to read the value from standard input.

If <lease> isn't given as a command line argument and '--ignore-lease' is not specified,
this command tries to read the value from standard input.

For example,
$ cat file | put <key>
will store the content of the file to <key>.
";

pub const GET: CommandSpec = leaf(
    "get [options] <key> [range_end]",
    "Gets the key or a range of keys",
    GET_FLAGS,
);
pub const PUT: CommandSpec = leaf_long(
    "put [options] <key> <value> (<value> can also be given from stdin)",
    "Puts the given key into the store",
    PUT_LONG,
    PUT_FLAGS,
);
pub const DEL: CommandSpec = leaf(
    "del [options] <key> [range_end]",
    "Removes the specified key or range of keys [key, range_end)",
    DEL_FLAGS,
);

const CHECK_LOAD_USAGE_PERF: &str = "The performance check's workload model. Accepted workloads: s(small), m(medium), l(large), xl(xLarge)";
const CHECK_LOAD_USAGE_SCALE: &str = "The datascale check's workload model. Accepted workloads: s(small), m(medium), l(large), xl(xLarge)";
const AUTO_COMPACT: F = b(
    "auto-compact",
    false,
    "Compact storage with last revision after test is finished.",
);
const AUTO_DEFRAG: F = b(
    "auto-defrag",
    false,
    "Defragment storage after test is finished.",
);

const COMPLETION_NO_DESC: &[F] = &[b(
    "no-descriptions",
    false,
    "disable completion descriptions",
)];

const fn completion(
    use_line: &'static str,
    short: &'static str,
    long: &'static str,
) -> CommandSpec {
    CommandSpec {
        no_args: true,
        ..leaf_long(use_line, short, long, COMPLETION_NO_DESC)
    }
}

const BASH_LONG: &str = "Generate the autocompletion script for the bash shell.

This script depends on the 'bash-completion' package.
If it is not installed already, you can install it via your OS's package manager.

To load completions in your current shell session:

\tsource <(etcdctl completion bash)

To load completions for every new session, execute once:

#### Linux:

\tetcdctl completion bash > /etc/bash_completion.d/etcdctl

#### macOS:

\tetcdctl completion bash > $(brew --prefix)/etc/bash_completion.d/etcdctl

You will need to start a new shell for this setup to take effect.
";

const ZSH_LONG: &str = "Generate the autocompletion script for the zsh shell.

If shell completion is not already enabled in your environment you will need
to enable it.  You can execute the following once:

\techo \"autoload -U compinit; compinit\" >> ~/.zshrc

To load completions in your current shell session:

\tsource <(etcdctl completion zsh); compdef _etcdctl etcdctl

To load completions for every new session, execute once:

#### Linux:

\tetcdctl completion zsh > \"${fpath[1]}/_etcdctl\"

#### macOS:

\tetcdctl completion zsh > $(brew --prefix)/share/zsh/site-functions/_etcdctl

You will need to start a new shell for this setup to take effect.
";

const FISH_LONG: &str = "Generate the autocompletion script for the fish shell.

To load completions in your current shell session:

\tetcdctl completion fish | source

To load completions for every new session, execute once:

\tetcdctl completion fish > ~/.config/fish/completions/etcdctl.fish

You will need to start a new shell for this setup to take effect.
";

const POWERSHELL_LONG: &str = "Generate the autocompletion script for powershell.

To load completions in your current shell session:

\tetcdctl completion powershell | Out-String | Invoke-Expression

To load completions for every new session, add the output of the above command
to your powershell profile.
";

/// The root command.
pub static ROOT: CommandSpec = CommandSpec {
    use_line: "etcdctl",
    short: "A simple command line client for etcd3.",
    long: "",
    runnable: false,
    flags: &[],
    persistent: GLOBAL_FLAGS,
    no_flags_in_use_line: false,
    no_args: false,
    subcommands: &[
        GET,
        PUT,
        DEL,
        leaf("txn [options]", "Txn processes all the requests in one transaction", &[F::short("interactive", 'i', D::Bool(false), "Input transaction in interactive mode")]),
        leaf("compaction [options] <revision>", "Compacts the event history in etcd", &[b("physical", false, "'true' to wait for compaction to physically remove all old revisions")]),
        group("alarm <subcommand>", "Alarm related commands", &[
            leaf("disarm", "Disarms all alarms", &[]),
            leaf("list", "Lists all alarms", &[]),
        ]),
        CommandSpec {
            persistent: &[CLUSTER_FLAG],
            ..leaf("defrag", "Defragments the storage of the etcd members with given endpoints", &[s("data-dir", "", "Optional. If present, defragments a data directory not in use by etcd.")])
        },
        CommandSpec {
            persistent: &[CLUSTER_FLAG],
            ..group("endpoint <subcommand>", "Endpoint related commands", &[
                leaf("health", "Checks the healthiness of endpoints specified in `--endpoints` flag", &[]),
                leaf_long("status", "Prints out the status of endpoints specified in `--endpoints` flag", "When --write-out is set to simple, this command prints out comma-separated status lists for each endpoint.\nThe items in the lists are endpoint, ID, version, db size, is leader, is learner, raft term, raft index, raft applied index, errors.\n", &[]),
                CommandSpec {
                    persistent: &[i("rev", 0, "maximum revision to hash (default: all revisions)")],
                    ..leaf("hashkv", "Prints the KV history hash for each endpoint in --endpoints", &[])
                },
            ])
        },
        leaf("move-leader <transferee-member-id>", "Transfers leadership to another etcd cluster member.", &[]),
        leaf("watch [options] [key or prefix] [range_end] [--] [exec-command arg1 arg2 ...]", "Watches events stream on keys or prefixes", &[
            F::short("interactive", 'i', D::Bool(false), "Interactive mode"),
            b("prefix", false, "Watch on a prefix if prefix is set"),
            i("rev", 0, "Revision to start watching"),
            b("prev-kv", false, "get the previous key-value pair before the event happens"),
        ]),
        leaf("version", "Prints the version of etcdctl", &[]),
        group("lease <subcommand>", "Lease related commands", &[
            leaf("grant <ttl>", "Creates leases", &[]),
            leaf("revoke <leaseID>", "Revokes leases", &[]),
            leaf("timetolive <leaseID> [options]", "Get lease information", &[b("keys", false, "Get keys attached to this lease")]),
            leaf("list", "List all active leases", &[]),
            leaf("keep-alive [options] <leaseID>", "Keeps leases alive (renew)", &[b("once", false, "Resets the keep-alive time to its original value and exits immediately")]),
        ]),
        group("member <subcommand>", "Membership related commands", &[
            leaf("add <memberName> [options]", "Adds a member into the cluster", &[
                s("peer-urls", "", "comma separated peer URLs for the new member."),
                b("learner", false, "indicates if the new member is raft learner"),
            ]),
            leaf("remove <memberID>", "Removes a member from the cluster", &[]),
            leaf("update <memberID> [options]", "Updates a member in the cluster", &[s("peer-urls", "", "comma separated peer URLs for the updated member.")]),
            leaf_long("list", "Lists all members in the cluster", "When --write-out is set to simple, this command prints out comma-separated member lists for each endpoint.\nThe items in the lists are ID, Status, Name, Peer Addrs, Client Addrs, Is Learner.\n", &[]),
            leaf_long("promote <memberID>", "Promotes a non-voting member in the cluster", "Promotes a non-voting learner member to a voting one in the cluster.\n", &[]),
        ]),
        group("snapshot <subcommand>", "Manages etcd node snapshots", &[
            leaf("save <filename>", "Stores an etcd node backend snapshot to a given file", &[]),
            leaf("restore <filename> [options]", "Restores an etcd member snapshot to an etcd directory", &[
                s("data-dir", "", "Path to the data directory"),
                s("wal-dir", "", "Path to the WAL directory (use --data-dir if none given)"),
                s("initial-cluster", "default=http://localhost:2380", "Initial cluster configuration for restore bootstrap"),
                s("initial-cluster-token", "etcd-cluster", "Initial cluster token for the etcd cluster during restore bootstrap"),
                s("initial-advertise-peer-urls", "http://localhost:2380", "List of this member's peer URLs to advertise to the rest of the cluster"),
                s("name", "default", "Human-readable name for this member"),
                b("skip-hash-check", false, "Ignore snapshot integrity hash value (required if copied from data directory)"),
            ]),
            leaf_long("status <filename>", "Gets backend snapshot status of a given file", "When --write-out is set to simple, this command prints out comma-separated status lists for each endpoint.\nThe items in the lists are hash, revision, total keys, total size.\n", &[]),
            // Our addition (not in etcdctl 3.4).
            leaf_long("verify <filename>", "Checks a snapshot file's SHA-256 trailer and database integrity", "Checks that the file ends in the SHA-256 of its database (as written by 'snapshot save'),\nthen runs bbolt's consistency check and reads every bucket.\n", &[
                b("skip-hash-check", false, "Accept a file without SHA-256 trailer (a db file copied from a data directory)"),
            ]),
        ]),
        leaf("make-mirror [options] <destination>", "Makes a mirror at the destination etcd cluster", &[
            s("prefix", "", "Key-value prefix to mirror"),
            s("dest-prefix", "", "destination prefix to mirror a prefix to a different prefix in the destination cluster"),
            b("no-dest-prefix", false, "mirror key-values to the root of the destination cluster"),
            s("dest-cert", "", "Identify secure client using this TLS certificate file for the destination cluster"),
            s("dest-key", "", "Identify secure client using this TLS key file"),
            s("dest-cacert", "", "Verify certificates of TLS enabled secure servers using this CA bundle"),
            b("dest-insecure-transport", true, "Disable transport security for client connections"),
        ]),
        leaf("migrate", "Migrates keys in a v2 store to a mvcc store", &[
            b("no-ttl", false, "Do not convert TTL keys"),
            s("data-dir", "", "Path to the data directory"),
            s("wal-dir", "", "Path to the WAL directory"),
            s("transformer", "", "Path to the user-provided transformer program"),
        ]),
        leaf("lock <lockname> [exec-command arg1 arg2 ...]", "Acquires a named lock", &[i("ttl", 10, "timeout for session")]),
        leaf("elect <election-name> [proposal]", "Observes and participates in leader election", &[F::short("listen", 'l', D::Bool(false), "observation mode")]),
        group("auth <enable or disable>", "Enable or disable authentication", &[
            leaf("enable", "Enables authentication", &[]),
            leaf("disable", "Disables authentication", &[]),
        ]),
        group("user <subcommand>", "User related commands", &[
            leaf("add <user name or user:password> [options]", "Adds a new user", &[
                b("interactive", true, "Read password from stdin instead of interactive terminal"),
                s("new-user-password", "", "Supply password from the command line flag"),
                b("no-password", false, "Create a user without password (CN based auth only)"),
            ]),
            leaf("delete <user name>", "Deletes a user", &[]),
            leaf("get <user name> [options]", "Gets detailed information of a user", &[b("detail", false, "Show permissions of roles granted to the user")]),
            leaf("list", "Lists all users", &[]),
            leaf("passwd <user name> [options]", "Changes password of user", &[b("interactive", true, "If true, read password from stdin instead of interactive terminal")]),
            leaf("grant-role <user name> <role name>", "Grants a role to a user", &[]),
            leaf("revoke-role <user name> <role name>", "Revokes a role from a user", &[]),
        ]),
        group("role <subcommand>", "Role related commands", &[
            leaf("add <role name>", "Adds a new role", &[]),
            leaf("delete <role name>", "Deletes a role", &[]),
            leaf("get <role name>", "Gets detailed information of a role", &[]),
            leaf("list", "Lists all roles", &[]),
            leaf("grant-permission [options] <role name> <permission type> <key> [endkey]", "Grants a key to a role", &[
                b("prefix", false, "grant a prefix permission"),
                b("from-key", false, "grant a permission of keys that are greater than or equal to the given key using byte compare"),
            ]),
            leaf("revoke-permission <role name> <key> [endkey]", "Revokes a key from a role", &[
                b("prefix", false, "revoke a prefix permission"),
                b("from-key", false, "revoke a permission of keys that are greater than or equal to the given key using byte compare"),
            ]),
        ]),
        group("check <subcommand>", "commands for checking properties of the etcd cluster", &[
            leaf("perf [options]", "Check the performance of the etcd cluster", &[
                s("load", "s", CHECK_LOAD_USAGE_PERF),
                s("prefix", "/etcdctl-check-perf/", "The prefix for writing the performance check's keys."),
                AUTO_COMPACT,
                AUTO_DEFRAG,
            ]),
            leaf_long("datascale [options]", "Check the memory usage of holding data for different workloads on a given server endpoint.", "If no endpoint is provided, localhost will be used. If multiple endpoints are provided, first endpoint will be used.", &[
                s("load", "s", CHECK_LOAD_USAGE_SCALE),
                s("prefix", "/etcdctl-check-datascale/", "The prefix for writing the datascale check's keys."),
                AUTO_COMPACT,
                AUTO_DEFRAG,
            ]),
        ]),
        HELP,
        COMPLETION,
    ],
};

/// cobra's `help` command.
pub const HELP: CommandSpec = leaf_long("help [command]", "Help about any command", "Help provides help for any command in the application.\nSimply type etcdctl help [path to command] for full details.", &[]);

/// cobra's `completion` command.
pub const COMPLETION: CommandSpec = CommandSpec {
    no_args: true,
    long: "Generate the autocompletion script for etcdctl for the specified shell.\nSee each sub-command's help for details on how to use the generated script.\n",
    ..group("completion", "Generate the autocompletion script for the specified shell", &[
        CommandSpec { no_flags_in_use_line: true, ..completion("bash", "Generate the autocompletion script for bash", BASH_LONG) },
        completion("zsh", "Generate the autocompletion script for zsh", ZSH_LONG),
        completion("fish", "Generate the autocompletion script for fish", FISH_LONG),
        completion("powershell", "Generate the autocompletion script for powershell", POWERSHELL_LONG),
    ])
};

/// The nameless root etcdctl's txn parser runs put/get/del under (`txn_command.go`).
pub static TXN_ROOT: CommandSpec = CommandSpec {
    use_line: "",
    short: "",
    long: "",
    runnable: false,
    flags: &[],
    persistent: &[],
    subcommands: &[PUT, GET, DEL, HELP, COMPLETION],
    no_flags_in_use_line: false,
    no_args: false,
};
