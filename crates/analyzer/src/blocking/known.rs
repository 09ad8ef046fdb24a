//! What pyrepl3 knows about library calls: which qualified names block, which return typed
//! values, which are async, loop-bound or run a coroutine.
//!
//! Qualified names use the public spelling (`sqlite3.Connection.execute`, `requests.Session.get`).
//! Lookups take a `&str` and hash it once (no allocation): first the exact name, then its
//! prefixes from the longest (so `redis.asyncio.Redis.get` finds the async `redis.asyncio`
//! before the blocking `redis` families).

use std::cell::RefCell;
use std::sync::LazyLock;

use rustc_hash::FxHashMap;

/// A family of blocking calls; each family is one rule (PR201..PR211).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Family {
    /// `time.sleep` and friends.
    Sleep,
    /// `input`, `getpass`, reading `sys.stdin`, `breakpoint`.
    Input,
    /// Synchronous HTTP clients.
    Http,
    /// Starting or waiting for processes.
    Subprocess,
    /// Opening, reading and writing files.
    FileIo,
    /// Filesystem queries and changes (`os`, `os.path`, `pathlib`, `shutil`, `glob`, `tempfile`).
    Filesystem,
    /// Sockets and name resolution.
    Socket,
    /// Synchronous database clients.
    Database,
    /// SMTP, FTP, POP3, IMAP clients.
    MailFtp,
    /// Data-frame and array file I/O (pandas, polars, numpy).
    DataIo,
    /// Waiting on locks, events, queues, threads, futures, `select`.
    SyncPrimitive,
    /// Running another event loop on the calling thread until a function finishes
    /// (`trio.run`; `asyncio.run` raises on the session's loop thread instead): reported by the
    /// same rule as [`Family::SyncPrimitive`].
    EventLoop,
}

/// What calling a known name does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// Known and harmless.
    Pure,
    /// Blocks the calling thread.
    Block(Family),
    /// Part of an async library: never blocks; its results are async objects too.
    Async,
    /// Needs the running event loop's thread (`asyncio.create_task`...).
    LoopBound,
    /// Runs the coroutine given as first argument to completion (`asyncio.run`).
    RunsCoroutine,
    /// Calls the async function given as first argument and runs it (`trio.run(main)`).
    RunsCallable,
    /// Returns an awaitable that runs the coroutines among its arguments (`asyncio.gather`).
    Gathers,
    /// `functools.partial`: calling the result calls the first argument.
    Partial,
    /// Calls its first argument (`map`, `filter`).
    CallsArg0,
    /// Calls its `key=` argument (`sorted`, `min`, `max`).
    CallsKey,
    /// Runs code pyrepl3 cannot see (`exec`, `eval`).
    Dynamic,
    /// Returns its first argument's items in a new container (`list`, `sorted`...): keeps
    /// the item type of typed iterables.
    Passthrough,
    /// Imports the module named by its first argument (`__import__`, `importlib.import_module`).
    ImportModule,
    /// `getattr(obj, "name")`: the attribute, when the name is a literal.
    GetAttr,
    /// Configures logging or logs a record: file I/O exactly when the session's logging
    /// configuration writes the record to a file (see `logs.rs`).
    Logging,
}

/// When a call that usually blocks does not.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Guard {
    /// Always as the kind says.
    Always,
    /// Non-blocking when the argument at `pos` (or keyword `kw`) is the literal `False` or `0`
    /// (`lock.acquire(False)`, `q.get(block=False)`, `pool.shutdown(wait=False)`).
    UnlessFalse(u8, &'static str),
    /// Non-blocking when the timeout at `pos` (or keyword `kw`) is the literal `0`.
    UnlessZero(u8, &'static str),
    /// Non-blocking when the argument at `pos` (or keyword `kw`) is the literal `True`
    /// (`logging.FileHandler(path, delay=True)` opens its file on the first record).
    UnlessTrue(u8, &'static str),
    /// Blocks only when given a first positional argument or the keyword `kw`
    /// (`df.to_csv()` returns a string; `smtplib.SMTP()` does not connect).
    NeedsArg(&'static str),
    /// `open`: the return type depends on the mode.
    OpenMode,
    /// Blocks unless the argument at `pos` (or keyword `kw`) is an in-memory buffer
    /// (`pd.read_csv(io.StringIO(text))` parses text it already has).
    UnlessBuffer(u8, &'static str),
    /// Blocks when the argument at `pos` (or keyword `kw`) is an open file
    /// (`json.dump(obj, f)`, `print(x, file=f)`); `pos` 255 means keyword only. On a `Pure`
    /// entry: the call returns its type only over an open file (`csv.writer(f)`).
    FileArg(u8, &'static str),
    /// Blocks; with the keyword `stream` the literal `True` the call returns the response
    /// before its body is read ([`STREAMED_RESPONSE`]), so the methods that read it block too
    /// (`requests.get(url, stream=True).json()`).
    Streams,
    /// Blocks when given a first positional argument or the keyword `kw` (as [`Guard::NeedsArg`]),
    /// and also unless the keyword `unless` is given (`smtplib.SMTP()` looks up its own host's
    /// name unless given `local_hostname`).
    NeedsArgOrLacks(&'static str, &'static str),
    /// Blocks only when the argument at `pos` (or keyword `kw`) is a string literal starting with
    /// `prefix` (`pymongo.MongoClient("mongodb+srv://...")` looks the cluster up in DNS).
    IfPrefix(u8, &'static str, &'static str),
    /// Blocks the first time in a session only, per group: `mimetypes` reads its database
    /// files on first use, then keeps them for the process.
    Once(&'static str),
    /// As [`Guard::Once`], per value of the first argument when it is a literal:
    /// `zoneinfo.ZoneInfo(key)` reads the zone's file once per key and caches it.
    OncePerKey(&'static str),
}

/// The type of logging handlers that write a file.
pub(crate) const FILE_HANDLER: &str = "logging.FileHandler";

/// What pandas readers given `chunksize=` or `iterator=True` return.
pub(crate) const CHUNKED_READER: &str = "pandas.io.parsers.TextFileReader";

/// What `pymongo.collection.Collection.find` returns.
const MONGO_CURSOR: &str = "pymongo.cursor.Cursor";

/// The type a `requests` call with `stream=True` returns: the body is read by its methods.
pub(crate) const STREAMED_RESPONSE: &str = "requests.models.Response";

/// Everything known about one qualified name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Entry {
    pub(crate) kind: Kind,
    /// The type of the value the call returns, when known (`sqlite3.Connection`).
    pub(crate) ret: Option<&'static str>,
    pub(crate) guard: Guard,
}

const fn e(kind: Kind, ret: Option<&'static str>, guard: Guard) -> Entry {
    Entry { kind, ret, guard }
}

use Family::*;
use Kind::*;

const TEXT_FILE: &str = "io.TextIOWrapper";
const READER: &str = "io.BufferedReader";
const WRITER: &str = "io.BufferedWriter";
const RANDOM: &str = "io.BufferedRandom";

/// File-like types whose I/O methods block.
const FILE_TYPES: &[&str] = &[
    TEXT_FILE,
    READER,
    WRITER,
    RANDOM,
    "io.FileIO",
    "gzip.GzipFile",
    "bz2.BZ2File",
    "lzma.LZMAFile",
    "tempfile.SpooledTemporaryFile",
];
const FILE_METHODS: &[&str] = &[
    "read",
    "read1",
    "readinto",
    "readline",
    "readlines",
    "write",
    "writelines",
    "flush",
    "truncate",
    // Closing flushes what was written.
    "close",
    "__iter__",
];

const SOCKET_TYPES: &[&str] = &["socket.socket", "ssl.SSLSocket"];
const SOCKET_METHODS: &[&str] = &[
    // `bind` resolves its address first, which may look up a host name.
    "bind",
    "connect",
    "connect_ex",
    "accept",
    "recv",
    "recvfrom",
    "recv_into",
    "recvfrom_into",
    "recvmsg",
    "send",
    "sendall",
    "sendto",
    "sendmsg",
    "sendfile",
];

/// DB-API libraries: (connect function(s), connection type, cursor type).
const DBAPI: &[(&[&str], &str, &str)] = &[
    (&["sqlite3.connect"], "sqlite3.Connection", "sqlite3.Cursor"),
    (
        &["psycopg2.connect"],
        "psycopg2.extensions.connection",
        "psycopg2.extensions.cursor",
    ),
    (
        &["psycopg.connect", "psycopg.Connection.connect"],
        "psycopg.Connection",
        "psycopg.Cursor",
    ),
    (
        &[
            "pymysql.connect",
            "pymysql.Connect",
            "pymysql.connections.Connection",
        ],
        "pymysql.connections.Connection",
        "pymysql.cursors.Cursor",
    ),
    (
        &["MySQLdb.connect", "MySQLdb.Connect"],
        "MySQLdb.connections.Connection",
        "MySQLdb.cursors.Cursor",
    ),
    (
        &["mysql.connector.connect"],
        "mysql.connector.connection.MySQLConnection",
        "mysql.connector.cursor.MySQLCursor",
    ),
    (
        &["cx_Oracle.connect", "oracledb.connect"],
        "oracledb.Connection",
        "oracledb.Cursor",
    ),
    (&["pyodbc.connect"], "pyodbc.Connection", "pyodbc.Cursor"),
    (
        &["duckdb.connect"],
        "duckdb.DuckDBPyConnection",
        "duckdb.DuckDBPyConnection",
    ),
    (
        &["snowflake.connector.connect"],
        "snowflake.connector.SnowflakeConnection",
        "snowflake.connector.cursor.SnowflakeCursor",
    ),
];
const CONN_BLOCKING: &[&str] = &[
    "execute",
    "executemany",
    "executescript",
    "commit",
    "rollback",
    "backup",
    "query",
    "ping",
    "sql",
];
const CURSOR_BLOCKING: &[&str] = &[
    "execute",
    "executemany",
    "executescript",
    "fetchone",
    "fetchmany",
    "fetchall",
    "callproc",
    "copy_from",
    "copy_to",
    "copy_expert",
    "copy",
    "__iter__",
];

/// Filesystem calls by module.
const OS_PROCESS: &[&str] = &[
    "system",
    "spawnl",
    "spawnle",
    "spawnlp",
    "spawnlpe",
    "spawnv",
    "spawnve",
    "spawnvp",
    "spawnvpe",
    "wait",
    "waitpid",
    "wait3",
    "wait4",
    "waitid",
    "posix_spawn",
    "posix_spawnp",
];
const OS_FILE_IO: &[&str] = &[
    "read",
    "write",
    "open",
    "pread",
    "pwrite",
    "readv",
    "writev",
    "sendfile",
    "fsync",
    "fdatasync",
    "truncate",
    "ftruncate",
    "copy_file_range",
    "splice",
];
const OS_FS: &[&str] = &[
    "listdir",
    "scandir",
    "fwalk",
    "stat",
    "lstat",
    "access",
    "mkdir",
    "makedirs",
    "remove",
    "unlink",
    "rmdir",
    "removedirs",
    "rename",
    "renames",
    "replace",
    "chmod",
    "chown",
    "lchown",
    "link",
    "symlink",
    "readlink",
    "utime",
    "statvfs",
    "mkfifo",
    "mknod",
];
const OS_PATH_FS: &[&str] = &[
    "exists",
    "lexists",
    "isfile",
    "isdir",
    "islink",
    "ismount",
    "isjunction",
    "getsize",
    "getmtime",
    "getatime",
    "getctime",
    "samefile",
    "sameopenfile",
    "realpath",
];
const OS_PATH_PURE: &[&str] = &[
    "join",
    "normpath",
    "basename",
    "dirname",
    "split",
    "splitext",
    "splitdrive",
    "normcase",
    "isabs",
    "expanduser",
    "expandvars",
    "commonpath",
    "commonprefix",
    "relpath",
    "abspath",
    "samestat",
];
const SHUTIL_FS: &[&str] = &[
    "copy",
    "copy2",
    "copyfile",
    "copyfileobj",
    "copymode",
    "copystat",
    "copytree",
    "rmtree",
    "move",
    "make_archive",
    "unpack_archive",
    "disk_usage",
    "chown",
    "which",
];
const PATH_FILE_IO: &[&str] = &["read_text", "read_bytes", "write_text", "write_bytes"];
const PATH_FS: &[&str] = &[
    "exists",
    "is_dir",
    "is_file",
    "is_symlink",
    "is_mount",
    "is_socket",
    "is_fifo",
    "is_block_device",
    "is_char_device",
    "stat",
    "lstat",
    "mkdir",
    "rmdir",
    "unlink",
    "touch",
    "samefile",
    "chmod",
    "lchmod",
    "owner",
    "group",
    "readlink",
    "symlink_to",
    "hardlink_to",
    "link_to",
    "walk",
];
const PATH_FS_RET_PATH: &[&str] = &["rename", "replace", "resolve"];
const PATH_PURE_RET_PATH: &[&str] = &[
    "joinpath",
    "with_name",
    "with_suffix",
    "with_stem",
    "relative_to",
    "expanduser",
    "absolute",
    "home",
    "cwd",
    "__truediv__",
];
const PATH_TYPES: &[&str] = &["pathlib.Path", "pathlib.PosixPath", "pathlib.WindowsPath"];

const HTTP_VERBS: &[&str] = &[
    "get", "post", "put", "patch", "delete", "head", "options", "request",
];

/// Module or type prefixes whose every call is async (never blocks).
const ASYNC_PREFIXES: &[&str] = &[
    "asyncio",
    "aiohttp",
    "aiofiles",
    "anyio",
    "trio",
    "httpx.AsyncClient",
    "httpx.AsyncHTTPTransport",
    "redis.asyncio",
    "aioredis",
    "motor",
    "asyncpg",
    "aiosqlite",
    "aiomysql",
    "aiopg",
    "psycopg.AsyncConnection",
    "psycopg.AsyncCursor",
    "sqlalchemy.ext.asyncio",
    "databases",
    "aiobotocore",
    "aioboto3",
    "websockets",
    "asyncssh",
    "aiosmtplib",
    "aioftp",
    "aio_pika",
    "nats",
    "openai.AsyncOpenAI",
    "elasticsearch.AsyncElasticsearch",
    "playwright.async_api",
    "curio",
    "zmq.asyncio",
    "aiokafka",
    "asyncio_mqtt",
    "aiomqtt",
];

fn build() -> FxHashMap<&'static str, Entry> {
    // Sized for the table (about 1300 names) so that building it never rehashes.
    let m: RefCell<FxHashMap<&'static str, Entry>> = RefCell::new(
        FxHashMap::with_capacity_and_hasher(1536, Default::default()),
    );
    let add = |name: &'static str, entry: Entry| {
        m.borrow_mut().insert(name, entry);
    };
    // A composed name is kept for the life of the process only when it is new: a later entry
    // for a name already in the table (a deliberate override, such as the fetches of a cursor
    // type) replaces the entry and keeps the table's key, so nothing is leaked unreachably.
    let add_key = |name: String, entry: Entry| {
        let mut m = m.borrow_mut();
        match m.get_mut(name.as_str()) {
            Some(old) => *old = entry,
            None => {
                m.insert(Box::leak(name.into_boxed_str()), entry);
            }
        }
    };
    let b = |f: Family| e(Block(f), None, Guard::Always);
    let bt = |f: Family, t: &'static str| e(Block(f), Some(t), Guard::Always);
    let t = |t: &'static str| e(Pure, Some(t), Guard::Always);
    let pure = e(Pure, None, Guard::Always);

    // Sleeping.
    add("time.sleep", b(Sleep));
    add("signal.pause", b(Sleep));
    add("signal.sigwait", b(Sleep));

    // Input.
    add("input", b(Input));
    add("breakpoint", b(Input));
    add("getpass.getpass", b(Input));
    add("pdb.set_trace", b(Input));
    add("code.interact", b(Input));
    add("sys.stdin.read", b(Input));
    add("sys.stdin.readline", b(Input));
    add("sys.stdin.readlines", b(Input));
    add("sys.stdin.buffer.read", b(Input));
    add("sys.stdin.buffer.readline", b(Input));

    // HTTP.
    for v in HTTP_VERBS {
        let streams = e(Block(Http), Some("requests.Response"), Guard::Streams);
        add_key(join2("requests.", v), streams);
        add_key(join2("requests.Session.", v), streams);
        add_key(join2("httpx.", v), bt(Http, "httpx.Response"));
        add_key(join2("httpx.Client.", v), bt(Http, "httpx.Response"));
    }
    add("requests.Session", t("requests.Session"));
    add("requests.session", t("requests.Session"));
    add("requests.sessions.Session", t("requests.Session"));
    add("requests.Session.send", bt(Http, "requests.Response"));
    // Without `stream=True` the body is in memory: iterating it reads nothing.
    add("requests.Response.iter_content", pure);
    add("requests.Response.iter_lines", pure);
    // A streamed response reads its body from the socket when asked for it.
    for m in ["json", "__iter__"] {
        add_key(join3(STREAMED_RESPONSE, ".", m), b(Http));
    }
    add("httpx.stream", bt(Http, "httpx.Response"));
    add("httpx.Client", t("httpx.Client"));
    add("httpx.Client.stream", bt(Http, "httpx.Response"));
    add("httpx.Client.send", bt(Http, "httpx.Response"));
    add("httpx.Response.read", b(Http));
    add("httpx.Response.iter_bytes", b(Http));
    add("httpx.Response.iter_lines", b(Http));
    add(
        "urllib.request.urlopen",
        bt(Http, "http.client.HTTPResponse"),
    );
    add("urllib.request.urlretrieve", b(Http));
    add(
        "urllib.request.build_opener",
        t("urllib.request.OpenerDirector"),
    );
    add(
        "urllib.request.OpenerDirector.open",
        bt(Http, "http.client.HTTPResponse"),
    );
    add("urllib.request.Request", t("urllib.request.Request"));
    for m in [
        "read",
        "read1",
        "readline",
        "readlines",
        "readinto",
        "__iter__",
    ] {
        add_key(join2("http.client.HTTPResponse.", m), b(Http));
    }
    add(
        "http.client.HTTPConnection",
        t("http.client.HTTPConnection"),
    );
    add(
        "http.client.HTTPSConnection",
        t("http.client.HTTPConnection"),
    );
    for m in ["request", "connect", "send", "endheaders", "putrequest"] {
        add_key(join2("http.client.HTTPConnection.", m), b(Http));
    }
    add(
        "http.client.HTTPConnection.getresponse",
        bt(Http, "http.client.HTTPResponse"),
    );
    add("urllib3.PoolManager", t("urllib3.PoolManager"));
    add("urllib3.ProxyManager", t("urllib3.PoolManager"));
    add("urllib3.HTTPConnectionPool", t("urllib3.PoolManager"));
    add("urllib3.HTTPSConnectionPool", t("urllib3.PoolManager"));
    add("urllib3.connection_from_url", t("urllib3.PoolManager"));
    add("urllib3.request", bt(Http, "urllib3.response.HTTPResponse"));
    for m in [
        "request",
        "urlopen",
        "request_encode_url",
        "request_encode_body",
    ] {
        add_key(
            join2("urllib3.PoolManager.", m),
            bt(Http, "urllib3.response.HTTPResponse"),
        );
    }
    // Making a client loads the service's JSON model from botocore's data directory and reads
    // the configuration and credential files.
    add("boto3.client", bt(FileIo, "botocore.client.BaseClient"));
    add("boto3.Session", t("boto3.Session"));
    add("boto3.session.Session", t("boto3.Session"));
    add(
        "boto3.Session.client",
        bt(FileIo, "botocore.client.BaseClient"),
    );
    // A paginator's model is another JSON file; `paginate` sends nothing until iterated.
    add(
        "botocore.client.BaseClient.get_paginator",
        bt(FileIo, "botocore.paginate.Paginator"),
    );
    add(
        "botocore.paginate.Paginator.paginate",
        t("botocore.paginate.Paginator.paginate"),
    );
    for m in [
        "get_waiter",
        "can_paginate",
        "generate_presigned_url",
        "generate_presigned_post",
        "close",
        "meta",
        "exceptions",
    ] {
        add_key(join2("botocore.client.BaseClient.", m), pure);
    }
    add("openai.OpenAI", t("openai.OpenAI"));
    add("openai.Client", t("openai.OpenAI"));
    for m in [
        "create", "retrieve", "list", "delete", "update", "parse", "stream",
    ] {
        add_key(join2("openai.OpenAI.", m), b(Http));
    }
    add("webbrowser.open", pure);

    // Subprocesses.
    for f in [
        "run",
        "call",
        "check_call",
        "check_output",
        "getoutput",
        "getstatusoutput",
    ] {
        add_key(join2("subprocess.", f), b(Subprocess));
    }
    add("subprocess.Popen", bt(Subprocess, "subprocess.Popen"));
    add("subprocess.Popen.wait", b(Subprocess));
    add("subprocess.Popen.communicate", b(Subprocess));
    for f in OS_PROCESS {
        add_key(join2("os.", f), b(Subprocess));
        // `posix` is the module `os` re-exports them from.
        add_key(join2("posix.", f), b(Subprocess));
    }
    add("os.popen", bt(Subprocess, "os._wrap_close"));
    for m in ["read", "readline", "readlines", "close", "__iter__"] {
        add_key(join2("os._wrap_close.", m), b(Subprocess));
    }

    // File I/O.
    add("open", e(Block(FileIo), Some(TEXT_FILE), Guard::OpenMode));
    add(
        "io.open",
        e(Block(FileIo), Some(TEXT_FILE), Guard::OpenMode),
    );
    add("codecs.open", bt(FileIo, TEXT_FILE));
    add("io.FileIO", bt(FileIo, "io.FileIO"));
    add("io.StringIO", t("io.StringIO"));
    add("io.BytesIO", t("io.BytesIO"));
    add(
        "os.fdopen",
        e(Block(FileIo), Some(TEXT_FILE), Guard::OpenMode),
    );
    for f in OS_FILE_IO {
        add_key(join2("os.", f), b(FileIo));
    }
    for ty in FILE_TYPES {
        for m in FILE_METHODS {
            add_key(join3(ty, ".", m), b(FileIo));
        }
    }
    // Compressed files and archives: over an in-memory buffer they read and write memory
    // ([`over_buffer_is_memory`]).
    let file_or_buffer = |pos: u8, kw: &'static str, ty: &'static str| {
        e(Block(FileIo), Some(ty), Guard::UnlessBuffer(pos, kw))
    };
    add("gzip.open", file_or_buffer(0, "filename", "gzip.GzipFile"));
    add(
        "gzip.GzipFile",
        file_or_buffer(3, "fileobj", "gzip.GzipFile"),
    );
    add("bz2.open", file_or_buffer(0, "filename", "bz2.BZ2File"));
    add("bz2.BZ2File", file_or_buffer(0, "filename", "bz2.BZ2File"));
    add("lzma.open", file_or_buffer(0, "filename", "lzma.LZMAFile"));
    add(
        "zipfile.ZipFile",
        file_or_buffer(0, "file", "zipfile.ZipFile"),
    );
    for m in [
        "read",
        "extract",
        "extractall",
        "write",
        "writestr",
        "testzip",
    ] {
        add_key(join2("zipfile.ZipFile.", m), b(FileIo));
    }
    add("zipfile.ZipFile.open", bt(FileIo, READER));
    add(
        "zipfile.is_zipfile",
        e(Block(FileIo), None, Guard::UnlessBuffer(0, "filename")),
    );
    add(
        "tarfile.is_tarfile",
        e(Block(FileIo), None, Guard::UnlessBuffer(0, "name")),
    );
    add(
        "tarfile.open",
        file_or_buffer(2, "fileobj", "tarfile.TarFile"),
    );
    add(
        "tarfile.TarFile",
        file_or_buffer(2, "fileobj", "tarfile.TarFile"),
    );
    for m in [
        "extract",
        "extractall",
        "add",
        "addfile",
        "getmembers",
        "getnames",
        "extractfile",
        "list",
    ] {
        add_key(join2("tarfile.TarFile.", m), b(FileIo));
    }
    // Logging handlers that open their file when made (unless `delay=True`).
    for h in [
        "logging.FileHandler",
        "logging.handlers.RotatingFileHandler",
        "logging.handlers.TimedRotatingFileHandler",
        "logging.handlers.WatchedFileHandler",
    ] {
        // `delay` is the sixth parameter of the rotating handlers, the fourth of the others.
        let delay = if h.contains("Rotating") {
            Guard::UnlessTrue(5, "delay")
        } else {
            Guard::UnlessTrue(3, "delay")
        };
        add(h, e(Block(FileIo), Some(FILE_HANDLER), delay));
    }
    // `basicConfig` opens a file only when given `filename=` (the walker reports it, and
    // records the root logger's file and level).
    let logging = e(Logging, None, Guard::Always);
    add("logging.basicConfig", logging);
    add(
        "logging.getLogger",
        e(Logging, Some("logging.Logger"), Guard::Always),
    );
    for m in [
        "addHandler",
        "setLevel",
        "debug",
        "info",
        "warning",
        "warn",
        "error",
        "exception",
        "critical",
        "fatal",
        "log",
    ] {
        add_key(join2("logging.Logger.", m), logging);
        if m != "addHandler" {
            add_key(join2("logging.", m), logging);
        }
    }
    add("logging.config.fileConfig", b(FileIo));
    // `.env` files: read (and, by default, searched for up the directory tree).
    // csv readers and writers over an open file: iterating and writing do the file's I/O.
    for ty in [
        "csv.writer",
        "csv.DictWriter",
        "csv.reader",
        "csv.DictReader",
    ] {
        add(ty, e(Pure, Some(ty), Guard::FileArg(0, "f")));
    }
    for m in ["writerow", "writerows"] {
        add_key(join2("csv.writer.", m), b(FileIo));
        add_key(join2("csv.DictWriter.", m), b(FileIo));
    }
    add("csv.DictWriter.writeheader", b(FileIo));
    add("csv.reader.__iter__", b(FileIo));
    add("csv.DictReader.__iter__", b(FileIo));
    add("dotenv.load_dotenv", b(FileIo));
    add("dotenv.dotenv_values", b(FileIo));
    add("shelve.open", b(FileIo));
    add("dbm.open", b(FileIo));
    add("PIL.Image.open", bt(FileIo, "PIL.Image.Image"));
    add("PIL.Image.Image.save", b(FileIo));
    // `Image.open` reads the header only; `load()` reads the pixels from the file.
    add("PIL.Image.Image.load", b(FileIo));
    add("PIL.Image.new", t("PIL.Image.Image"));
    add("PIL.Image.fromarray", t("PIL.Image.Image"));
    for m in ["convert", "resize", "crop", "rotate", "copy", "transpose"] {
        add_key(join2("PIL.Image.Image.", m), t("PIL.Image.Image"));
    }
    add("tempfile.TemporaryFile", bt(FileIo, RANDOM));
    add("tempfile.NamedTemporaryFile", bt(FileIo, RANDOM));
    add(
        "tempfile.SpooledTemporaryFile",
        t("tempfile.SpooledTemporaryFile"),
    );
    // Rolling over (asked for, or by `fileno()`) moves the data to a real temporary file: the
    // object is that file from then on ([`receiver_becomes`]).
    add("tempfile.SpooledTemporaryFile.rollover", b(FileIo));
    add("tempfile.SpooledTemporaryFile.fileno", b(FileIo));
    add("tempfile.SpooledTemporaryFile.read", pure);
    add("tempfile.SpooledTemporaryFile.readline", pure);
    add("tempfile.SpooledTemporaryFile.write", pure);
    add("tempfile.SpooledTemporaryFile.flush", pure);

    // Filesystem.
    for f in OS_FS {
        add_key(join2("os.", f), b(Filesystem));
    }
    add("os.scandir", bt(Filesystem, "os.ScandirIter"));
    add("os.chdir", b(Filesystem));
    for f in OS_PATH_FS {
        add_key(join2("os.path.", f), b(Filesystem));
    }
    for f in OS_PATH_PURE {
        add_key(join2("os.path.", f), pure);
    }
    for f in SHUTIL_FS {
        add_key(join2("shutil.", f), b(Filesystem));
    }
    add("glob.glob", b(Filesystem));
    // `iglob` returns a generator: the directory is read as it is iterated.
    add("tempfile.mkstemp", b(Filesystem));
    add("tempfile.mkdtemp", b(Filesystem));
    add(
        "tempfile.TemporaryDirectory",
        bt(Filesystem, "tempfile.TemporaryDirectory"),
    );
    add("tempfile.TemporaryDirectory.cleanup", b(Filesystem));
    for ty in PATH_TYPES {
        add(ty, t("pathlib.Path"));
    }
    add("pathlib.PurePath", t("pathlib.PurePath"));
    add("pathlib.PurePosixPath", t("pathlib.PurePath"));
    add("pathlib.PureWindowsPath", t("pathlib.PurePath"));
    add(
        "pathlib.Path.open",
        e(Block(FileIo), Some(TEXT_FILE), Guard::OpenMode),
    );
    for m in PATH_FILE_IO {
        add_key(join2("pathlib.Path.", m), b(FileIo));
    }
    for m in PATH_FS {
        add_key(join2("pathlib.Path.", m), b(Filesystem));
    }
    // Generators: the directory is read as they are iterated (see `lazy_call`).
    for (name, family) in LAZY_CALLS {
        add(name, t(name));
        add_key(join2(name, ".__iter__"), b(family));
    }
    for m in PATH_FS_RET_PATH {
        add_key(join2("pathlib.Path.", m), bt(Filesystem, "pathlib.Path"));
    }
    for m in PATH_PURE_RET_PATH {
        add_key(join2("pathlib.Path.", m), t("pathlib.Path"));
    }

    // Sockets.
    add("socket.socket", t("socket.socket"));
    add("socket.create_connection", bt(Socket, "socket.socket"));
    add("socket.create_server", t("socket.socket"));
    for f in [
        "getaddrinfo",
        "gethostbyname",
        "gethostbyname_ex",
        "gethostbyaddr",
        "getnameinfo",
        "getfqdn",
    ] {
        add_key(join2("socket.", f), b(Socket));
    }
    for ty in SOCKET_TYPES {
        for m in SOCKET_METHODS {
            add_key(join3(ty, ".", m), b(Socket));
        }
    }
    add("socket.socket.makefile", t(READER));
    add("ssl.create_default_context", t("ssl.SSLContext"));
    add("ssl.SSLContext", t("ssl.SSLContext"));
    add("ssl.SSLContext.wrap_socket", bt(Socket, "ssl.SSLSocket"));
    add("ssl.SSLSocket.do_handshake", b(Socket));
    for ty in [
        "http.server.HTTPServer",
        "http.server.ThreadingHTTPServer",
        "socketserver.TCPServer",
        "socketserver.UDPServer",
        "socketserver.ThreadingTCPServer",
    ] {
        add(ty, t("socketserver.TCPServer"));
    }
    add("socketserver.TCPServer.serve_forever", b(Socket));
    add("socketserver.TCPServer.handle_request", b(Socket));
    add(
        "websocket.create_connection",
        bt(Socket, "websocket.WebSocket"),
    );
    add("websocket.WebSocket.send", b(Socket));
    add("websocket.WebSocket.recv", b(Socket));
    add(
        "websockets.sync.client.connect",
        bt(Socket, "websockets.sync.client.ClientConnection"),
    );
    add("paramiko.SSHClient", t("paramiko.SSHClient"));
    for m in ["connect", "exec_command", "open_sftp"] {
        add_key(join2("paramiko.SSHClient.", m), b(Socket));
    }
    // Host keys are read from (and saved to) files.
    for m in ["load_system_host_keys", "load_host_keys", "save_host_keys"] {
        add_key(join2("paramiko.SSHClient.", m), b(FileIo));
    }
    add("ftplib.FTP.connect", b(MailFtp));

    // Databases.
    for (connects, conn, cur) in DBAPI {
        for c in *connects {
            add(c, bt(Database, conn));
        }
        for m in CONN_BLOCKING {
            add_key(join3(conn, ".", m), bt(Database, cur));
        }
        add_key(join2(conn, ".cursor"), t(cur));
        for m in CURSOR_BLOCKING {
            add_key(join3(cur, ".", m), bt(Database, cur));
        }
        // The fetches return rows (a tuple or a list), not the cursor: iterating them is free.
        for m in ["fetchone", "fetchmany", "fetchall"] {
            add_key(join3(cur, ".", m), b(Database));
        }
    }
    // These cursors' `execute` returns `None` or a row count, not the cursor.
    for cur in [
        "psycopg2.extensions.cursor",
        "pymysql.cursors.Cursor",
        "MySQLdb.cursors.Cursor",
        "mysql.connector.cursor.MySQLCursor",
    ] {
        for m in ["execute", "executemany"] {
            add_key(join3(cur, ".", m), b(Database));
        }
    }
    add(
        "psycopg2.pool.SimpleConnectionPool",
        t("psycopg2.pool.SimpleConnectionPool"),
    );
    add(
        "psycopg2.pool.SimpleConnectionPool.getconn",
        bt(Database, "psycopg2.extensions.connection"),
    );
    // The client connects in the background, but a `mongodb+srv://` address is resolved (DNS
    // SRV and TXT lookups) in the constructor.
    for f in ["pymongo.MongoClient", "pymongo.mongo_client.MongoClient"] {
        add(
            f,
            e(
                Block(Database),
                Some("pymongo.MongoClient"),
                Guard::IfPrefix(0, "host", "mongodb+srv://"),
            ),
        );
    }
    for m in [
        "list_database_names",
        "list_databases",
        "server_info",
        "drop_database",
    ] {
        add_key(join2("pymongo.MongoClient.", m), b(Database));
    }
    add(
        "pymongo.MongoClient.get_database",
        t("pymongo.database.Database"),
    );
    add(
        "pymongo.MongoClient.get_default_database",
        t("pymongo.database.Database"),
    );
    for m in [
        "command",
        "list_collection_names",
        "list_collections",
        "create_collection",
        "drop_collection",
    ] {
        add_key(join2("pymongo.database.Database.", m), b(Database));
    }
    add(
        "pymongo.database.Database.get_collection",
        t("pymongo.collection.Collection"),
    );
    // `find` makes a cursor and sends nothing: iterating the cursor queries the server.
    add("pymongo.collection.Collection.find", t(MONGO_CURSOR));
    for m in [
        "sort",
        "limit",
        "skip",
        "batch_size",
        "hint",
        "max_time_ms",
        "collation",
        "comment",
        "where",
        "allow_disk_use",
        "max",
        "min",
        "rewind",
        "clone",
    ] {
        add_key(join3(MONGO_CURSOR, ".", m), t(MONGO_CURSOR));
    }
    for m in [
        "__iter__", "next", "__next__", "to_list", "explain", "distinct", "close",
    ] {
        add_key(join3(MONGO_CURSOR, ".", m), b(Database));
    }
    for m in [
        "find_one",
        "insert_one",
        "insert_many",
        "update_one",
        "update_many",
        "replace_one",
        "delete_one",
        "delete_many",
        "count_documents",
        "estimated_document_count",
        "aggregate",
        "distinct",
        "find_one_and_update",
        "find_one_and_replace",
        "find_one_and_delete",
        "bulk_write",
        "create_index",
        "create_indexes",
        "drop",
        "drop_index",
        "list_indexes",
        "watch",
    ] {
        add_key(join2("pymongo.collection.Collection.", m), b(Database));
    }
    for f in [
        "redis.Redis",
        "redis.StrictRedis",
        "redis.from_url",
        "redis.Redis.from_url",
        "redis.client.Redis",
        "redis.StrictRedis.from_url",
    ] {
        add(f, t("redis.Redis"));
    }
    add("redis.Redis.pipeline", t("redis.client.Pipeline"));
    add("redis.Redis.pubsub", t("redis.client.PubSub"));
    add("redis.Redis.lock", t("redis.lock.Lock"));
    add("redis.Redis.close", pure);
    add("redis.Redis.register_script", pure);
    add("redis.Redis.get_connection_kwargs", pure);
    add("redis.client.Pipeline.execute", b(Database));
    add("redis.lock.Lock.acquire", b(Database));
    add("redis.client.PubSub.subscribe", b(Database));
    add("redis.client.PubSub.get_message", b(Database));
    add("redis.client.PubSub.listen", b(Database));
    add("sqlalchemy.create_engine", t("sqlalchemy.engine.Engine"));
    add(
        "sqlalchemy.engine.Engine.connect",
        bt(Database, "sqlalchemy.engine.Connection"),
    );
    add(
        "sqlalchemy.engine.Engine.begin",
        bt(Database, "sqlalchemy.engine.Connection"),
    );
    for m in [
        "execute",
        "commit",
        "rollback",
        "exec_driver_sql",
        "scalar",
        "scalars",
    ] {
        add_key(join2("sqlalchemy.engine.Connection.", m), b(Database));
    }
    add("sqlalchemy.orm.Session", t("sqlalchemy.orm.Session"));
    for m in [
        "execute", "commit", "flush", "get", "scalars", "scalar", "refresh", "merge", "rollback",
    ] {
        add_key(join2("sqlalchemy.orm.Session.", m), b(Database));
    }
    add(
        "elasticsearch.Elasticsearch",
        t("elasticsearch.Elasticsearch"),
    );
    for m in [
        "search", "index", "get", "delete", "update", "bulk", "count", "info", "ping",
    ] {
        add_key(join2("elasticsearch.Elasticsearch.", m), b(Database));
    }

    // Mail and FTP.
    for ty in ["smtplib.SMTP", "smtplib.SMTP_SSL", "smtplib.LMTP"] {
        add(
            ty,
            e(
                Block(MailFtp),
                Some("smtplib.SMTP"),
                Guard::NeedsArgOrLacks("host", "local_hostname"),
            ),
        );
    }
    for m in [
        "connect",
        "login",
        "starttls",
        "ehlo",
        "helo",
        "sendmail",
        "send_message",
        "quit",
        "noop",
        "verify",
        "auth",
    ] {
        add_key(join2("smtplib.SMTP.", m), b(MailFtp));
    }
    for ty in ["ftplib.FTP", "ftplib.FTP_TLS"] {
        add(
            ty,
            e(Block(MailFtp), Some("ftplib.FTP"), Guard::NeedsArg("host")),
        );
    }
    for m in [
        "login",
        "cwd",
        "pwd",
        "nlst",
        "dir",
        "retrbinary",
        "retrlines",
        "storbinary",
        "storlines",
        "delete",
        "rename",
        "mkd",
        "rmd",
        "size",
        "quit",
        "sendcmd",
        "mlsd",
    ] {
        add_key(join2("ftplib.FTP.", m), b(MailFtp));
    }
    for ty in ["poplib.POP3", "poplib.POP3_SSL"] {
        add(ty, bt(MailFtp, "poplib.POP3"));
    }
    for m in [
        "user", "pass_", "stat", "list", "retr", "dele", "quit", "top",
    ] {
        add_key(join2("poplib.POP3.", m), b(MailFtp));
    }
    for ty in ["imaplib.IMAP4", "imaplib.IMAP4_SSL"] {
        add(ty, bt(MailFtp, "imaplib.IMAP4"));
    }
    for m in [
        "login", "select", "search", "fetch", "store", "logout", "list", "append", "expunge", "uid",
    ] {
        add_key(join2("imaplib.IMAP4.", m), b(MailFtp));
    }

    // Data-frame and array I/O.
    for f in [
        "read_csv",
        "read_table",
        "read_json",
        "read_excel",
        "read_parquet",
        "read_feather",
        "read_hdf",
        "read_pickle",
        "read_sql",
        "read_sql_query",
        "read_sql_table",
        "read_html",
        "read_xml",
        "read_fwf",
        "read_orc",
        "read_stata",
        "read_sas",
        "read_spss",
        "read_clipboard",
    ] {
        // Readers of paths and of file-like objects: over an in-memory buffer they read nothing.
        let guard = match f {
            "read_sql" | "read_sql_query" | "read_sql_table" | "read_clipboard" | "read_hdf" => {
                Guard::Always
            }
            "read_json" | "read_html" | "read_xml" => Guard::UnlessBuffer(0, "path_or_buf"),
            "read_excel" => Guard::UnlessBuffer(0, "io"),
            "read_parquet" | "read_feather" | "read_orc" => Guard::UnlessBuffer(0, "path"),
            "read_pickle" | "read_stata" | "read_sas" | "read_spss" => {
                Guard::UnlessBuffer(0, "filepath_or_buffer")
            }
            _ => Guard::UnlessBuffer(0, "filepath_or_buffer"),
        };
        add_key(
            join2("pandas.", f),
            e(Block(DataIo), Some("pandas.DataFrame"), guard),
        );
    }
    // `read_csv(path, chunksize=n)` reads the header now and the rows as it is iterated.
    for m in ["__iter__", "get_chunk", "read", "__next__"] {
        add_key(join3(CHUNKED_READER, ".", m), b(DataIo));
    }
    // Functions that combine or reshape frames make frames (so `.to_csv(path)` on the result is
    // known to write a file).
    for f in [
        "concat",
        "merge",
        "merge_asof",
        "merge_ordered",
        "pivot",
        "pivot_table",
        "crosstab",
        "melt",
        "get_dummies",
        "json_normalize",
    ] {
        add_key(join2("pandas.", f), t("pandas.DataFrame"));
    }
    add("pandas.DataFrame", t("pandas.DataFrame"));
    add("pandas.Series", t("pandas.Series"));
    add("pandas.ExcelWriter", bt(DataIo, "pandas.ExcelWriter"));
    add("pandas.ExcelFile", bt(DataIo, "pandas.ExcelFile"));
    add("pandas.ExcelFile.parse", bt(DataIo, "pandas.DataFrame"));
    for ty in ["pandas.DataFrame", "pandas.Series"] {
        for m in [
            "to_csv",
            "to_json",
            "to_html",
            "to_xml",
            "to_markdown",
            "to_latex",
            "to_string",
        ] {
            add_key(
                join3(ty, ".", m),
                e(Block(DataIo), None, Guard::NeedsArg("path_or_buf")),
            );
        }
        // Writers of a path or a file-like object: over an in-memory buffer they write memory.
        for (m, kw) in [
            ("to_excel", "excel_writer"),
            ("to_parquet", "path"),
            ("to_feather", "path"),
            ("to_pickle", "path"),
            ("to_stata", "path"),
            ("to_orc", "path"),
        ] {
            add_key(
                join3(ty, ".", m),
                e(Block(DataIo), None, Guard::UnlessBuffer(0, kw)),
            );
        }
        for m in ["to_hdf", "to_sql", "to_clipboard"] {
            add_key(join3(ty, ".", m), b(DataIo));
        }
    }
    for f in [
        "read_csv",
        "read_parquet",
        "read_json",
        "read_ndjson",
        "read_excel",
        "read_ipc",
        "read_avro",
        "read_database",
        "read_database_uri",
        "read_delta",
    ] {
        add_key(join2("polars.", f), bt(DataIo, "polars.DataFrame"));
    }
    add("polars.DataFrame", t("polars.DataFrame"));
    add("polars.DataFrame.lazy", t("polars.DataFrame"));
    for f in [
        "scan_csv",
        "scan_parquet",
        "scan_ndjson",
        "scan_ipc",
        "scan_delta",
    ] {
        add_key(join2("polars.", f), t("polars.LazyFrame"));
    }
    for m in ["collect", "sink_parquet", "sink_csv", "sink_ipc"] {
        add_key(
            join2("polars.LazyFrame.", m),
            bt(DataIo, "polars.DataFrame"),
        );
    }
    for m in ["write_csv", "write_json", "write_ndjson"] {
        add_key(
            join2("polars.DataFrame.", m),
            e(Block(DataIo), None, Guard::NeedsArg("file")),
        );
    }
    for m in [
        "write_parquet",
        "write_excel",
        "write_ipc",
        "write_database",
        "write_avro",
        "write_delta",
    ] {
        add_key(join2("polars.DataFrame.", m), b(DataIo));
    }
    for f in [
        "load",
        "save",
        "savez",
        "savez_compressed",
        "loadtxt",
        "savetxt",
        "genfromtxt",
        "fromfile",
    ] {
        add_key(join2("numpy.", f), b(DataIo));
    }
    add("numpy.ndarray.tofile", b(DataIo));
    add("numpy.array", t("numpy.ndarray"));
    add("numpy.zeros", t("numpy.ndarray"));
    add("numpy.ones", t("numpy.ndarray"));
    add("numpy.arange", t("numpy.ndarray"));

    // Blocking synchronisation.
    for (ty, methods) in [
        ("threading.Lock", &["acquire"][..]),
        ("threading.RLock", &["acquire"]),
        ("threading.Semaphore", &["acquire"]),
        ("threading.BoundedSemaphore", &["acquire"]),
        ("threading.Condition", &["acquire", "wait", "wait_for"]),
        ("threading.Event", &["wait"]),
        ("threading.Barrier", &["wait"]),
        ("threading.Thread", &["join"]),
        ("threading.Timer", &["join"]),
        ("queue.Queue", &["get", "join"]),
        ("queue.LifoQueue", &["get", "join"]),
        ("queue.PriorityQueue", &["get", "join"]),
        ("queue.SimpleQueue", &["get"]),
        ("multiprocessing.Queue", &["get", "join"]),
        ("multiprocessing.Process", &["join"]),
        (
            "multiprocessing.pool.Pool",
            &["map", "starmap", "apply", "join"],
        ),
        ("concurrent.futures.Future", &["result", "exception"]),
        ("concurrent.futures.ThreadPoolExecutor", &["shutdown"]),
        ("select.poll", &["poll"]),
        ("select.epoll", &["poll"]),
        ("selectors.DefaultSelector", &["select"]),
    ] {
        add(ty, t(ty));
        for m in methods {
            let guard = match *m {
                "acquire" => Guard::UnlessFalse(0, "blocking"),
                "get" => Guard::UnlessFalse(0, "block"),
                "shutdown" => Guard::UnlessFalse(0, "wait"),
                "wait" | "join" | "result" | "exception" | "poll" | "select" => {
                    Guard::UnlessZero(0, "timeout")
                }
                _ => Guard::Always,
            };
            add_key(join3(ty, ".", m), e(Block(SyncPrimitive), None, guard));
        }
    }
    // `put` on an unbounded `Queue()` never blocks, and whether a queue is bounded is beyond
    // static sight, so `put` is not flagged.
    add(
        "threading.Lock.__enter__",
        e(Block(SyncPrimitive), None, Guard::Always),
    );
    add(
        "threading.RLock.__enter__",
        e(Block(SyncPrimitive), None, Guard::Always),
    );
    add(
        "threading.Semaphore.__enter__",
        e(Block(SyncPrimitive), None, Guard::Always),
    );
    add(
        "threading.BoundedSemaphore.__enter__",
        e(Block(SyncPrimitive), None, Guard::Always),
    );
    add(
        "threading.Condition.__enter__",
        e(Block(SyncPrimitive), None, Guard::Always),
    );
    add("multiprocessing.Pool", t("multiprocessing.pool.Pool"));
    add(
        "multiprocessing.pool.ThreadPool",
        t("multiprocessing.pool.Pool"),
    );
    add(
        "concurrent.futures.ProcessPoolExecutor",
        t("concurrent.futures.ThreadPoolExecutor"),
    );
    add(
        "concurrent.futures.ThreadPoolExecutor.submit",
        t("concurrent.futures.Future"),
    );
    // `executor.map(...)` returns at once; iterating its results waits for them.
    add(
        "concurrent.futures.ThreadPoolExecutor.map",
        t("concurrent.futures.ResultIterator"),
    );
    add(
        "concurrent.futures.ResultIterator.__iter__",
        b(SyncPrimitive),
    );
    add("concurrent.futures.wait", b(SyncPrimitive));
    add("concurrent.futures.as_completed", b(SyncPrimitive));
    // A timeout of 0 polls and returns at once.
    add(
        "select.select",
        e(Block(SyncPrimitive), None, Guard::UnlessZero(3, "timeout")),
    );
    add("selectors.SelectSelector", t("selectors.DefaultSelector"));
    add("selectors.EpollSelector", t("selectors.DefaultSelector"));
    add("selectors.PollSelector", t("selectors.DefaultSelector"));

    // asyncio: loop-bound calls and coroutine runners (everything else under `asyncio` is async).
    for f in [
        "create_task",
        "ensure_future",
        "current_task",
        "all_tasks",
        "Future",
        "Task",
        "wrap_future",
    ] {
        add_key(join2("asyncio.", f), e(LoopBound, None, Guard::Always));
    }
    add(
        "asyncio.get_running_loop",
        e(LoopBound, Some("asyncio.AbstractEventLoop"), Guard::Always),
    );
    add(
        "asyncio.get_event_loop",
        e(LoopBound, Some("asyncio.AbstractEventLoop"), Guard::Always),
    );
    add("asyncio.new_event_loop", t("asyncio.AbstractEventLoop"));
    for m in [
        "call_soon",
        "call_later",
        "call_at",
        "create_task",
        "create_future",
        "run_in_executor",
        "add_reader",
        "add_writer",
        "add_signal_handler",
    ] {
        add_key(
            join2("asyncio.AbstractEventLoop.", m),
            e(LoopBound, None, Guard::Always),
        );
    }
    add("asyncio.AbstractEventLoop.call_soon_threadsafe", pure);
    add("asyncio.AbstractEventLoop.time", pure);
    add("asyncio.AbstractEventLoop.is_running", pure);
    add(
        "asyncio.AbstractEventLoop.run_until_complete",
        e(RunsCoroutine, None, Guard::Always),
    );
    // On the session's loop thread `asyncio.run` (and `run_until_complete` of a running loop,
    // and `anyio.run` with its default asyncio backend) raise before running anything:
    // nothing blocks there, but the coroutine's body is walked as awaited. `trio.run` runs
    // trio's own loop on this thread to completion: it blocks (the walker reports it).
    add("asyncio.run", e(RunsCoroutine, None, Guard::Always));
    add("asyncio.Runner.run", e(RunsCoroutine, None, Guard::Always));
    for f in ["gather", "wait_for", "shield", "wait", "timeout"] {
        add_key(join2("asyncio.", f), e(Gathers, None, Guard::Always));
    }
    add("trio.run", e(RunsCallable, None, Guard::Always));
    add("anyio.run", e(RunsCallable, None, Guard::Always));

    // More clients, by family.
    for v in HTTP_VERBS {
        add_key(
            join2("requests.api.", v),
            e(Block(Http), Some("requests.Response"), Guard::Streams),
        );
    }
    add("wget.download", b(Http));
    add("huggingface_hub.hf_hub_download", b(Http));
    add("huggingface_hub.snapshot_download", b(Http));
    add("httplib2.Http", t("httplib2.Http"));
    add("httplib2.Http.request", b(Http));
    add("pycurl.Curl", t("pycurl.Curl"));
    add("pycurl.Curl.perform", b(Http));
    add("docker.from_env", t("docker.DockerClient"));
    add("docker.DockerClient", t("docker.DockerClient"));
    add("docker.client.from_env", t("docker.DockerClient"));
    add("xmlrpc.client.ServerProxy", t("xmlrpc.client.ServerProxy"));
    add(
        "boto3.resource",
        bt(FileIo, "boto3.resources.base.ServiceResource"),
    );
    add(
        "boto3.Session.resource",
        bt(FileIo, "boto3.resources.base.ServiceResource"),
    );
    for m in [
        "download_file",
        "upload_file",
        "download_fileobj",
        "upload_fileobj",
        "put",
        "get",
        "delete",
        "load",
        "reload",
        "copy",
        "create",
        "put_object",
        "get_object",
        "delete_objects",
        "put_item",
        "get_item",
        "query",
        "scan",
        "update_item",
        "delete_item",
        "batch_write_item",
    ] {
        add_key(join2("boto3.resources.base.ServiceResource.", m), b(Http));
    }
    add(
        "google.cloud.storage.Client",
        t("google.cloud.storage.Client"),
    );
    for m in [
        "download_to_filename",
        "download_as_bytes",
        "download_as_text",
        "download_as_string",
        "upload_from_filename",
        "upload_from_string",
        "upload_from_file",
        "list_blobs",
        "get_bucket",
        "create_bucket",
        "exists",
        "reload",
        "delete",
        "lookup_bucket",
    ] {
        add_key(join2("google.cloud.storage.Client.", m), b(Http));
    }
    for ty in ["Chrome", "Firefox", "Edge", "Safari", "Remote"] {
        add_key(
            join2("selenium.webdriver.", ty),
            bt(Subprocess, "selenium.webdriver.Remote"),
        );
    }
    add(
        "playwright.sync_api.sync_playwright",
        bt(Subprocess, "playwright.sync_api.Playwright"),
    );
    add(
        "pika.BlockingConnection",
        bt(Socket, "pika.BlockingConnection"),
    );
    add("zmq.Context", t("zmq.Context"));
    add("zmq.Context.instance", t("zmq.Context"));
    add("zmq.Context.socket", t("zmq.Socket"));
    for m in [
        "recv",
        "send",
        "recv_json",
        "send_json",
        "recv_string",
        "send_string",
        "recv_pyobj",
        "send_pyobj",
        "recv_multipart",
        "send_multipart",
        "poll",
    ] {
        add_key(join2("zmq.Socket.", m), b(Socket));
    }
    add("telnetlib.Telnet", bt(Socket, "telnetlib.Telnet"));
    for m in [
        "read_until",
        "read_all",
        "read_some",
        "write",
        "expect",
        "open",
    ] {
        add_key(join2("telnetlib.Telnet.", m), b(Socket));
    }
    add("ssl.wrap_socket", bt(Socket, "ssl.SSLSocket"));
    add("socket.socket.accept", bt(Socket, "socket.socket.accept()"));
    add("ssl.SSLSocket.accept", bt(Socket, "socket.socket.accept()"));
    add("socket.socketpair", t("socket.socketpair()"));
    add("pexpect.spawn", bt(Subprocess, "pexpect.spawn"));
    add("pexpect.run", b(Subprocess));
    for m in [
        "expect",
        "expect_exact",
        "read",
        "readline",
        "wait",
        "interact",
    ] {
        add_key(join2("pexpect.spawn.", m), b(Subprocess));
    }
    add("serial.Serial", bt(FileIo, "serial.Serial"));
    for m in [
        "read",
        "readline",
        "readlines",
        "write",
        "read_until",
        "flush",
    ] {
        add_key(join2("serial.Serial.", m), b(FileIo));
    }
    add("neo4j.GraphDatabase.driver", t("neo4j.Driver"));
    add("neo4j.Driver.session", t("neo4j.Session"));
    add("neo4j.Driver.verify_connectivity", b(Database));
    add("neo4j.Driver.execute_query", b(Database));
    add("neo4j.Session.run", b(Database));
    add("cassandra.cluster.Cluster", t("cassandra.cluster.Cluster"));
    add(
        "cassandra.cluster.Cluster.connect",
        bt(Database, "cassandra.cluster.Session"),
    );
    add("cassandra.cluster.Session.execute", b(Database));
    add("clickhouse_driver.Client", t("clickhouse_driver.Client"));
    add("clickhouse_driver.Client.execute", b(Database));
    for f in [
        "sql",
        "query",
        "read_csv",
        "read_parquet",
        "read_json",
        "execute",
    ] {
        add_key(join2("duckdb.", f), b(Database));
    }
    add("pymemcache.client.base.Client", t("pymemcache.Client"));
    add("pymemcache.client.Client", t("pymemcache.Client"));
    add("opensearchpy.OpenSearch", t("elasticsearch.Elasticsearch"));
    add("psycopg2.extras.execute_values", b(Database));
    add("psycopg2.extras.execute_batch", b(Database));
    add("sqlalchemy.engine.Engine.execute", b(Database));
    add("sqlalchemy.orm.Session.query", t("sqlalchemy.orm.Query"));
    for m in [
        "all",
        "first",
        "one",
        "one_or_none",
        "count",
        "scalar",
        "get",
        "delete",
        "update",
    ] {
        add_key(join2("sqlalchemy.orm.Query.", m), b(Database));
    }
    add(
        "sqlalchemy.orm.sessionmaker",
        t("sqlalchemy.orm.sessionmaker"),
    );
    add(
        "sqlalchemy.orm.sessionmaker.__call__",
        t("sqlalchemy.orm.Session"),
    );
    for f in ["load", "save"] {
        add_key(join2("torch.", f), b(DataIo));
    }
    for f in ["load", "dump"] {
        add_key(join2("joblib.", f), b(DataIo));
    }
    add("pyarrow.parquet.read_table", b(DataIo));
    add("pyarrow.parquet.write_table", b(DataIo));
    add("pyarrow.csv.read_csv", b(DataIo));
    add("xarray.open_dataset", b(DataIo));
    add("transformers.pipeline", b(DataIo));
    add("sentence_transformers.SentenceTransformer", b(DataIo));
    add("h5py.File", bt(FileIo, "h5py.File"));
    add("cv2.imread", b(FileIo));
    add("cv2.imwrite", b(FileIo));
    add("cv2.VideoCapture", t("cv2.VideoCapture"));
    add("cv2.VideoCapture.read", b(FileIo));
    add("imageio.imread", b(FileIo));
    add("imageio.imwrite", b(FileIo));
    add("imageio.v3.imread", b(FileIo));
    add(
        "matplotlib.pyplot.savefig",
        e(Block(FileIo), None, Guard::UnlessBuffer(0, "fname")),
    );
    add("matplotlib.pyplot.imread", b(FileIo));
    add(
        "matplotlib.pyplot.subplots",
        t("matplotlib.pyplot.subplots()"),
    );
    add("matplotlib.pyplot.figure", t("matplotlib.figure.Figure"));
    // `savefig(BytesIO())` renders into memory.
    add(
        "matplotlib.figure.Figure.savefig",
        e(Block(FileIo), None, Guard::UnlessBuffer(0, "fname")),
    );
    // Read on first use, then cached for the process.
    for f in [
        "guess_type",
        "guess_extension",
        "guess_all_extensions",
        "add_type",
        "init",
    ] {
        add_key(
            join2("mimetypes.", f),
            e(Block(FileIo), None, Guard::Once("mimetypes")),
        );
    }
    add(
        "zoneinfo.ZoneInfo",
        e(
            Block(FileIo),
            Some("zoneinfo.ZoneInfo"),
            Guard::OncePerKey("zoneinfo.ZoneInfo"),
        ),
    );
    add("configparser.ConfigParser", t("configparser.ConfigParser"));
    add("configparser.ConfigParser.read", b(FileIo));
    add("toml.load", b(FileIo));
    add("sys.stdin.__iter__", b(Input));
    for f in ["prompt", "confirm", "getchar", "pause", "edit"] {
        add_key(join2("click.", f), b(Input));
    }
    add("typer.prompt", b(Input));
    add("typer.confirm", b(Input));
    add("rich.prompt.Prompt.ask", b(Input));
    add("rich.prompt.Confirm.ask", b(Input));
    add("msvcrt.getch", b(Input));
    add(
        "asyncio.run_coroutine_threadsafe",
        t("concurrent.futures.Future"),
    );
    add("multiprocessing.Event", t("threading.Event"));
    add("multiprocessing.Lock", t("threading.Lock"));
    add("multiprocessing.RLock", t("threading.RLock"));
    add("multiprocessing.Semaphore", t("threading.Semaphore"));
    add("multiprocessing.Condition", t("threading.Condition"));
    add("multiprocessing.Barrier", t("threading.Barrier"));
    add("multiprocessing.JoinableQueue", t("multiprocessing.Queue"));
    add("multiprocessing.SimpleQueue", t("multiprocessing.Queue"));

    add("dns.resolver.resolve", b(Socket));
    add("dns.resolver.query", b(Socket));
    add("dns.resolver.Resolver", t("dns.resolver.Resolver"));
    add("dns.resolver.Resolver.resolve", b(Socket));
    add(
        "psutil.cpu_percent",
        e(Block(Sleep), None, Guard::NeedsArg("interval")),
    );
    add("pty.spawn", b(Subprocess));
    for m in ["apply_async", "map_async", "starmap_async"] {
        add_key(
            join2("multiprocessing.pool.Pool.", m),
            t("multiprocessing.pool.AsyncResult"),
        );
    }
    add(
        "multiprocessing.pool.AsyncResult.get",
        e(Block(SyncPrimitive), None, Guard::UnlessZero(0, "timeout")),
    );
    add(
        "multiprocessing.pool.AsyncResult.wait",
        e(Block(SyncPrimitive), None, Guard::UnlessZero(0, "timeout")),
    );

    // Functions that read or write a file object they are given.
    for (f, pos, kw) in [
        ("json.dump", 1, "fp"),
        ("json.load", 0, "fp"),
        ("pickle.dump", 1, "file"),
        ("pickle.load", 0, "file"),
        ("marshal.dump", 1, "file"),
        ("marshal.load", 0, "file"),
        ("yaml.dump", 1, "stream"),
        ("yaml.safe_dump", 1, "stream"),
        ("yaml.load", 0, "stream"),
        ("yaml.safe_load", 0, "stream"),
        ("tomllib.load", 0, "fp"),
        ("toml.dump", 1, "f"),
        ("shutil.copyfileobj", 0, "fsrc"),
        ("print", 255, "file"),
    ] {
        add(f, e(Block(FileIo), None, Guard::FileArg(pos, kw)));
    }

    // Builtins and functional helpers.
    add("functools.partial", e(Partial, None, Guard::Always));
    add("map", e(CallsArg0, None, Guard::Always));
    add("filter", e(CallsArg0, None, Guard::Always));
    add("sorted", e(CallsKey, None, Guard::Always));
    add("min", e(CallsKey, None, Guard::Always));
    add("max", e(CallsKey, None, Guard::Always));
    add("exec", e(Dynamic, None, Guard::Always));
    for f in ["list", "tuple", "set", "frozenset", "reversed", "iter"] {
        add(f, e(Passthrough, None, Guard::Always));
    }
    add("enumerate", e(Passthrough, None, Guard::Always));
    // `zip(xs, ys)` pairs the items of its arguments; `next(it)` takes one item of `it`.
    add("zip", e(Passthrough, None, Guard::Always));
    add("next", e(Passthrough, None, Guard::Always));
    for (f, _) in LAZY_WRAPPERS {
        add(f, e(Passthrough, None, Guard::Always));
    }
    add("__import__", e(ImportModule, None, Guard::Always));
    add("getattr", e(GetAttr, None, Guard::Always));
    // Decorators whose meaning the engine uses.
    for f in ["property", "classmethod"] {
        add(f, pure);
    }
    // `fetch = staticmethod(requests.get)` in a class body: calling it calls the argument.
    add("staticmethod", e(Partial, None, Guard::Always));
    add(
        "importlib.import_module",
        e(ImportModule, None, Guard::Always),
    );
    // Reading the module's source again; the walker returns the module it was given.
    add("importlib.reload", e(Passthrough, None, Guard::Always));
    add("eval", e(Dynamic, None, Guard::Always));
    m.into_inner()
}

fn join2(a: &str, b: &str) -> String {
    join3(a, "", b)
}

/// A table key made of three parts.
fn join3(a: &str, b: &str, c: &str) -> String {
    let mut s = String::with_capacity(a.len() + b.len() + c.len());
    s.push_str(a);
    s.push_str(b);
    s.push_str(c);
    s
}

static TABLE: LazyLock<FxHashMap<&'static str, Entry>> = LazyLock::new(build);

/// Prefixes of module-wide or type-wide behaviour (longest match wins).
static PREFIXES: LazyLock<FxHashMap<&'static str, Entry>> = LazyLock::new(|| {
    let mut m = FxHashMap::default();
    for p in ASYNC_PREFIXES {
        m.insert(*p, e(Async, None, Guard::Always));
    }
    // Every method of a sync redis client or a boto3 client talks to the server.
    m.insert("redis.Redis", e(Block(Database), None, Guard::Always));
    m.insert(
        "redis.client.Pipeline",
        e(Pure, Some("redis.client.Pipeline"), Guard::Always),
    );
    m.insert(
        "botocore.client.BaseClient",
        e(Block(Http), None, Guard::Always),
    );
    for ty in STICKY {
        m.entry(*ty).or_insert(e(Pure, Some(ty), Guard::Always));
    }
    m.insert(
        "docker.DockerClient",
        e(Block(Http), Some("docker.DockerClient"), Guard::Always),
    );
    m.insert(
        "xmlrpc.client.ServerProxy",
        e(
            Block(Http),
            Some("xmlrpc.client.ServerProxy"),
            Guard::Always,
        ),
    );
    m.insert(
        "selenium.webdriver.Remote",
        e(
            Block(Http),
            Some("selenium.webdriver.Remote"),
            Guard::Always,
        ),
    );
    m.insert(
        "playwright.sync_api.Playwright",
        e(
            Block(Http),
            Some("playwright.sync_api.Playwright"),
            Guard::Always,
        ),
    );
    m.insert(
        "pika.BlockingConnection",
        e(
            Block(Socket),
            Some("pika.BlockingConnection"),
            Guard::Always,
        ),
    );
    m.insert("pymemcache.Client", e(Block(Database), None, Guard::Always));
    m.insert("sh", e(Block(Subprocess), None, Guard::Always));
    // Data frames: methods return frames, so chains keep their type.
    m.insert(
        "pandas.DataFrame",
        e(Pure, Some("pandas.DataFrame"), Guard::Always),
    );
    m.insert(
        "pandas.Series",
        e(Pure, Some("pandas.Series"), Guard::Always),
    );
    m.insert(
        "polars.DataFrame",
        e(Pure, Some("polars.DataFrame"), Guard::Always),
    );
    m.insert(
        "polars.LazyFrame",
        e(Pure, Some("polars.LazyFrame"), Guard::Always),
    );
    m
});

/// Types whose attributes are objects of the same family (`client.chat.completions`,
/// `client.containers`): attribute access keeps the type, and unlisted methods follow the
/// type's prefix entry.
pub(crate) static STICKY: &[&str] = &[
    "openai.OpenAI",
    "docker.DockerClient",
    "xmlrpc.client.ServerProxy",
    "selenium.webdriver.Remote",
    "playwright.sync_api.Playwright",
    "pika.BlockingConnection",
    "boto3.resources.base.ServiceResource",
    "google.cloud.storage.Client",
];

/// Model loaders that read (and may download) weights: `AutoModel.from_pretrained(...)`.
const FROM_PRETRAINED: Entry = e(Block(DataIo), None, Guard::Always);

/// First segments of the prefix entries and of the model loaders: a name under any other
/// root can only match exactly.
static PREFIX_ROOTS: LazyLock<rustc_hash::FxHashSet<&'static str>> = LazyLock::new(|| {
    PREFIXES
        .keys()
        .map(|k| k.split('.').next().unwrap_or(k))
        .chain(["transformers", "diffusers", "sentence_transformers", "peft"])
        .collect()
});

/// Every name in the tables and every dotted prefix of one (`urllib`, `urllib.request`...).
static NAMES: LazyLock<rustc_hash::FxHashSet<&'static str>> = LazyLock::new(|| {
    let mut set = rustc_hash::FxHashSet::with_capacity_and_hasher(
        2 * (TABLE.len() + PREFIXES.len()),
        Default::default(),
    );
    for k in TABLE.keys().chain(PREFIXES.keys()) {
        set.insert(*k);
        // Every prefix of a name in the set is in the set too: the walk up from `k` stops at
        // the first prefix already there.
        let mut end = k.len();
        while let Some(dot) = k.as_bytes()[..end].iter().rposition(|&b| b == b'.') {
            end = dot;
            if !set.insert(&k[..end]) {
                break;
            }
        }
    }
    set
});

/// `true` for the types of open files (whose reads and writes block).
pub(crate) fn is_file_type(ty: &str) -> bool {
    FILE_TYPES.contains(&ty)
        || matches!(
            ty,
            "serial.Serial" | "os._wrap_close" | "http.client.HTTPResponse" | "zipfile.ZipFile"
        )
}

/// The static copy of `name` when the tables mention it (so binding it allocates nothing).
pub(crate) fn static_name(name: &str) -> Option<&'static str> {
    NAMES.get(name).copied()
}

/// Look up a qualified name: the exact name first, then module/type prefixes, longest first.
pub(crate) fn lookup(qname: &str) -> Option<Entry> {
    let qname = qname.strip_prefix("builtins.").unwrap_or(qname);
    if let Some(e) = TABLE.get(qname) {
        return Some(*e);
    }
    let bytes = qname.as_bytes();
    let root = bytes
        .iter()
        .position(|&b| b == b'.')
        .map_or(qname, |dot| &qname[..dot]);
    if !PREFIX_ROOTS.contains(root) {
        return None;
    }
    let mut end = qname.len();
    while let Some(dot) = bytes[..end].iter().rposition(|&b| b == b'.') {
        end = dot;
        if let Some(e) = PREFIXES.get(&qname[..end]) {
            return Some(*e);
        }
    }
    if qname.ends_with(".from_pretrained")
        && [
            "transformers.",
            "diffusers.",
            "sentence_transformers.",
            "peft.",
        ]
        .iter()
        .any(|p| qname.starts_with(p))
    {
        return Some(FROM_PRETRAINED);
    }
    PREFIXES.get(qname).copied().filter(|e| e.kind == Async)
}

/// The type of attribute `attr` (or of a subscript, when `attr` is `None`) on a value of type `ty`.
pub(crate) fn attr_type(ty: &str, attr: Option<&str>) -> Option<&'static str> {
    if let Some(a) = attr
        && !a.starts_with('_')
        && let Some(k) = STICKY.iter().find(|k| **k == ty)
    {
        return Some(k);
    }
    match (ty, attr) {
        ("pymongo.MongoClient", Some(a)) if !a.starts_with('_') => {
            Some("pymongo.database.Database")
        }
        ("pymongo.MongoClient", None) => Some("pymongo.database.Database"),
        ("pymongo.database.Database" | "pymongo.collection.Collection", Some(a))
            if !a.starts_with('_') =>
        {
            Some("pymongo.collection.Collection")
        }
        ("pymongo.database.Database" | "pymongo.collection.Collection", None) => {
            Some("pymongo.collection.Collection")
        }
        ("pathlib.Path", Some("parent")) => Some("pathlib.Path"),
        ("pandas.DataFrame", None) => Some("pandas.Series"),
        ("pandas.DataFrame", Some("loc" | "iloc" | "T")) => Some("pandas.DataFrame"),
        ("subprocess.Popen", Some("stdout" | "stderr")) => Some(READER),
        ("subprocess.Popen", Some("stdin")) => Some(WRITER),
        _ => None,
    }
}

/// The types of the items of a value of type `ty` unpacked into a tuple (`""` for unknown).
pub(crate) fn unpack(ty: &str) -> Option<&'static [&'static str]> {
    match ty {
        "socket.socket.accept()" => Some(&["socket.socket", ""]),
        "socket.socketpair()" => Some(&["socket.socket", "socket.socket"]),
        "matplotlib.pyplot.subplots()" => Some(&["matplotlib.figure.Figure", ""]),
        _ => None,
    }
}

/// The type of the items of an iterable of type `ty` (`Path.glob(...)` yields paths).
pub(crate) fn item_type(ty: &str) -> Option<&'static str> {
    match ty {
        "pathlib.Path.iterdir" | "pathlib.Path.glob" | "pathlib.Path.rglob" => Some("pathlib.Path"),
        "os.ScandirIter" => Some("os.DirEntry"),
        _ => None,
    }
}

/// Filesystem calls that return a generator: calling one reads nothing; the value's type is
/// the call's own name, and iterating it reads the directory.
const LAZY_CALLS: [(&str, Family); 10] = [
    ("glob.iglob", Filesystem),
    ("pathlib.Path.iterdir", Filesystem),
    ("pathlib.Path.glob", Filesystem),
    ("pathlib.Path.rglob", Filesystem),
    ("os.walk", Filesystem),
    // A generator of SQL statements: each step queries the database.
    ("sqlite3.Connection.iterdump", Database),
    // Opens each file when iteration reaches it.
    ("fileinput.input", FileIo),
    // A streamed response's chunks and lines are read from the socket as they are iterated.
    ("requests.models.Response.iter_content", Http),
    ("requests.models.Response.iter_lines", Http),
    // Each page is a request.
    ("botocore.paginate.Paginator.paginate", Http),
];

/// Functions that wrap an iterable in a lazy iterator: what they wrap runs only when the result
/// is consumed. With the position of the wrapped iterable (`None`: every positional argument).
const LAZY_WRAPPERS: [(&str, Option<usize>); 12] = [
    ("itertools.islice", Some(0)),
    ("itertools.chain", None),
    ("itertools.chain.from_iterable", Some(0)),
    ("itertools.takewhile", Some(1)),
    ("itertools.dropwhile", Some(1)),
    ("itertools.filterfalse", Some(1)),
    ("itertools.compress", Some(0)),
    ("itertools.zip_longest", None),
    ("itertools.pairwise", Some(0)),
    ("itertools.accumulate", Some(0)),
    ("itertools.cycle", Some(0)),
    ("itertools.groupby", Some(0)),
];

/// The wrapped iterable's position when `q` is a [`LAZY_WRAPPERS`] function (`Some(None)`:
/// every positional argument).
pub(crate) fn lazy_wrapper(q: &str) -> Option<Option<usize>> {
    LAZY_WRAPPERS
        .iter()
        .find(|(name, _)| *name == q)
        .map(|(_, at)| *at)
}

/// Whether `ty` is the lazy result of the call of that name ([`LAZY_CALLS`]): iterating it is
/// reported as that call.
pub(crate) fn lazy_call(ty: &str) -> bool {
    LAZY_CALLS.iter().any(|(name, _)| *name == ty)
}

/// Loop-bound calls whose result wraps the coroutine given first (`asyncio.create_task`):
/// awaiting the result runs it.
pub(crate) fn wraps_coroutine(q: &str) -> bool {
    q.ends_with(".create_task") || q.ends_with(".ensure_future")
}

/// Calls that run a coroutine function on an event loop of their own, on the calling thread,
/// until it returns (`trio.run`): the thread waits for all of it. (`asyncio.run` and
/// `anyio.run`, with its default asyncio backend, raise on the session's loop thread instead.)
pub(crate) fn runs_own_loop(q: &str) -> bool {
    q == "trio.run"
}

/// The type a method call leaves its receiver with, when it changes
/// (`spool.rollover()` makes a spooled file a real one).
pub(crate) fn receiver_becomes(q: &str) -> Option<&'static str> {
    match q {
        "tempfile.SpooledTemporaryFile.rollover" | "tempfile.SpooledTemporaryFile.fileno" => {
            Some(RANDOM)
        }
        _ => None,
    }
}

/// Builtins that never iterate their arguments (`print(gen)` prints the generator object):
/// a generator handed to one is not run.
pub(crate) fn never_iterates(name: &str) -> bool {
    matches!(
        name,
        "print"
            | "type"
            | "id"
            | "repr"
            | "str"
            | "isinstance"
            | "issubclass"
            | "callable"
            | "hash"
            | "hasattr"
            | "format"
            | "ascii"
    )
}

/// Whether a value of type `ty` made over an in-memory buffer (`zipfile.ZipFile(io.BytesIO())`)
/// only reads and writes memory: its methods then do no I/O.
pub(crate) fn over_buffer_is_memory(ty: &str) -> bool {
    matches!(
        ty,
        "gzip.GzipFile" | "bz2.BZ2File" | "lzma.LZMAFile" | "zipfile.ZipFile" | "tarfile.TarFile"
    )
}

/// What leaving `with value:` does for a value of type `ty`, when it waits.
pub(crate) fn exit_blocks(ty: &str) -> Option<(&'static str, Family)> {
    match ty {
        "concurrent.futures.ThreadPoolExecutor" => Some((
            "concurrent.futures.ThreadPoolExecutor.shutdown",
            SyncPrimitive,
        )),
        _ => None,
    }
}

/// The type `with value as name` binds, for a value of type `ty`.
pub(crate) fn enter_type(ty: &'static str) -> Option<&'static str> {
    match ty {
        "tempfile.TemporaryDirectory" => None,
        "threading.Lock"
        | "threading.RLock"
        | "threading.Semaphore"
        | "threading.BoundedSemaphore" => None,
        _ => Some(ty),
    }
}

/// Python 3.11's builtin names (`dir(builtins)`), sorted.
pub(crate) static BUILTINS: &[&str] = &[
    "ArithmeticError",
    "AssertionError",
    "AttributeError",
    "BaseException",
    "BaseExceptionGroup",
    "BlockingIOError",
    "BrokenPipeError",
    "BufferError",
    "BytesWarning",
    "ChildProcessError",
    "ConnectionAbortedError",
    "ConnectionError",
    "ConnectionRefusedError",
    "ConnectionResetError",
    "DeprecationWarning",
    "EOFError",
    "Ellipsis",
    "EncodingWarning",
    "EnvironmentError",
    "Exception",
    "ExceptionGroup",
    "False",
    "FileExistsError",
    "FileNotFoundError",
    "FloatingPointError",
    "FutureWarning",
    "GeneratorExit",
    "IOError",
    "ImportError",
    "ImportWarning",
    "IndentationError",
    "IndexError",
    "InterruptedError",
    "IsADirectoryError",
    "KeyError",
    "KeyboardInterrupt",
    "LookupError",
    "MemoryError",
    "ModuleNotFoundError",
    "NameError",
    "None",
    "NotADirectoryError",
    "NotImplemented",
    "NotImplementedError",
    "OSError",
    "OverflowError",
    "PendingDeprecationWarning",
    "PermissionError",
    "ProcessLookupError",
    "RecursionError",
    "ReferenceError",
    "ResourceWarning",
    "RuntimeError",
    "RuntimeWarning",
    "StopAsyncIteration",
    "StopIteration",
    "SyntaxError",
    "SyntaxWarning",
    "SystemError",
    "SystemExit",
    "TabError",
    "TimeoutError",
    "True",
    "TypeError",
    "UnboundLocalError",
    "UnicodeDecodeError",
    "UnicodeEncodeError",
    "UnicodeError",
    "UnicodeTranslateError",
    "UnicodeWarning",
    "UserWarning",
    "ValueError",
    "Warning",
    "ZeroDivisionError",
    "__build_class__",
    "__debug__",
    "__doc__",
    "__import__",
    "__loader__",
    "__name__",
    "__package__",
    "__spec__",
    "abs",
    "aiter",
    "all",
    "anext",
    "any",
    "ascii",
    "bin",
    "bool",
    "breakpoint",
    "bytearray",
    "bytes",
    "callable",
    "chr",
    "classmethod",
    "compile",
    "complex",
    "copyright",
    "credits",
    "delattr",
    "dict",
    "dir",
    "divmod",
    "enumerate",
    "eval",
    "exec",
    "exit",
    "filter",
    "float",
    "format",
    "frozenset",
    "getattr",
    "globals",
    "hasattr",
    "hash",
    "help",
    "hex",
    "id",
    "input",
    "int",
    "isinstance",
    "issubclass",
    "iter",
    "len",
    "license",
    "list",
    "locals",
    "map",
    "max",
    "memoryview",
    "min",
    "next",
    "object",
    "oct",
    "open",
    "ord",
    "pow",
    "print",
    "property",
    "quit",
    "range",
    "repr",
    "reversed",
    "round",
    "set",
    "setattr",
    "slice",
    "sorted",
    "staticmethod",
    "str",
    "sum",
    "super",
    "tuple",
    "type",
    "vars",
    "zip",
];

/// Builtin names (and the names IPython adds), each with whether the tables list it.
static BUILTIN_NAMES: LazyLock<FxHashMap<&'static str, bool>> = LazyLock::new(|| {
    BUILTINS
        .iter()
        .chain(&["__file__", "__builtins__", "display", "get_ipython"])
        .map(|b| (*b, TABLE.contains_key(b)))
        .collect()
});

/// The static name of a builtin and whether the tables have an entry for it.
pub(crate) fn builtin(name: &str) -> Option<(&'static str, bool)> {
    BUILTIN_NAMES.get_key_value(name).map(|(k, v)| (*k, *v))
}

/// Method names that often block on some library type: calling one on a value of unknown
/// type is worth an informational note.
pub(crate) fn suspicious_method(name: &str) -> bool {
    matches!(
        name,
        "execute"
            | "executemany"
            | "executescript"
            | "fetchone"
            | "fetchall"
            | "fetchmany"
            | "commit"
            | "recv"
            | "recv_into"
            | "sendall"
            | "accept"
            | "communicate"
            | "urlopen"
            | "find_one"
            | "insert_one"
            | "insert_many"
            | "update_one"
            | "delete_one"
            | "read_text"
            | "write_text"
            | "read_bytes"
            | "write_bytes"
            | "read"
            | "readline"
            | "readlines"
            | "request"
            | "acquire"
            | "sendmail"
            | "send_message"
            | "retrbinary"
            | "storbinary"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtins_are_sorted() {
        assert!(BUILTINS.windows(2).all(|w| w[0] < w[1]));
    }

    #[test]
    fn names_are_the_table_names_and_all_their_dotted_prefixes() {
        let mut expected = rustc_hash::FxHashSet::default();
        for k in TABLE.keys().chain(PREFIXES.keys()) {
            let parts: Vec<&str> = k.split('.').collect();
            for n in 1..=parts.len() {
                expected.insert(parts[..n].join("."));
            }
        }
        let names: rustc_hash::FxHashSet<String> = NAMES.iter().map(|n| n.to_string()).collect();
        assert_eq!(names, expected);
        assert_eq!(static_name("urllib.request"), Some("urllib.request"));
        assert_eq!(static_name("mylib"), None);
    }

    #[test]
    fn longest_prefix_wins() {
        assert_eq!(
            lookup("redis.asyncio.Redis.get").map(|e| e.kind),
            Some(Async)
        );
        assert_eq!(
            lookup("redis.Redis.get").map(|e| e.kind),
            Some(Block(Database))
        );
        assert_eq!(lookup("redis.Redis.pipeline").map(|e| e.kind), Some(Pure));
        assert_eq!(lookup("asyncio.sleep").map(|e| e.kind), Some(Async));
        assert_eq!(lookup("asyncio").map(|e| e.kind), Some(Async));
        assert_eq!(lookup("time.sleep").map(|e| e.kind), Some(Block(Sleep)));
        assert_eq!(lookup("time.time"), None);
        assert_eq!(
            lookup("sqlite3.Connection.execute").and_then(|e| e.ret),
            Some("sqlite3.Cursor")
        );
    }
}
