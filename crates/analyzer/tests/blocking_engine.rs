//! Blocking-I/O detection, one behaviour per test: resolution through imports and earlier
//! cells, values followed through bindings, helpers followed through calls, and the hard
//! negatives (shadowing, async look-alikes, functions never called, offloaded callables).

use pyrepl3_analyzer::{CellAnalysis, SessionState, analyze_cell};

/// Analyze `cells` as one session; return the blocking call names of each cell.
fn session(cells: &[&str]) -> Vec<Vec<String>> {
    let mut state = SessionState::new();
    cells
        .iter()
        .map(|c| names(&analyze_cell(c, &mut state)))
        .collect()
}

fn names(a: &CellAnalysis) -> Vec<String> {
    a.blocking_calls
        .iter()
        .map(|c| c.name.to_string())
        .collect()
}

/// The blocking call names of the last cell of a session.
fn last(cells: &[&str]) -> Vec<String> {
    session(cells).pop().unwrap_or_default()
}

fn one(cell: &str) -> Vec<String> {
    last(&[cell])
}

#[test]
fn import_forms_resolve() {
    assert_eq!(one("import time\ntime.sleep(1)"), ["time.sleep"]);
    assert_eq!(one("import time as t\nt.sleep(1)"), ["time.sleep"]);
    assert_eq!(one("from time import sleep\nsleep(1)"), ["time.sleep"]);
    assert_eq!(one("from time import sleep as nap\nnap(1)"), ["time.sleep"]);
    assert_eq!(
        one("import os.path\nos.path.exists('x')"),
        ["os.path.exists"]
    );
    assert_eq!(
        one("import os.path as osp\nosp.isdir('x')"),
        ["os.path.isdir"]
    );
    assert_eq!(
        one("import urllib.request\nurllib.request.urlopen('http://x')"),
        ["urllib.request.urlopen"]
    );
    assert_eq!(
        one("from os import path\npath.getsize('x')"),
        ["os.path.getsize"]
    );
    assert_eq!(one("from time import *\nsleep(1)"), ["time.sleep"]);
}

#[test]
fn builtins_and_their_shadows() {
    assert_eq!(one("x = input('? ')"), ["input"]);
    assert_eq!(one("f = open('p')"), ["open"]);
    assert!(one("def open(p): return p\nopen('x')").is_empty());
    assert!(one("input = lambda *a: 'y'\ninput('?')").is_empty());
}

#[test]
fn the_via_names_the_import_line() {
    let mut s = SessionState::new();
    analyze_cell("x = 1\nimport time", &mut s);
    let a = analyze_cell("time.sleep(1)", &mut s);
    assert_eq!(a.blocking_calls[0].via, "import time (line 2)");
    let a = analyze_cell("from requests import get\n\nget('u')", &mut s);
    assert_eq!(a.blocking_calls[0].via, "from requests import get (line 1)");
}

#[test]
fn earlier_cells_carry_imports_and_values() {
    assert_eq!(last(&["import time", "time.sleep(1)"]), ["time.sleep"]);
    assert_eq!(
        last(&[
            "import sqlite3",
            "conn = sqlite3.connect('db')",
            "rows = conn.execute('select 1').fetchall()"
        ]),
        ["sqlite3.Connection.execute", "sqlite3.Cursor.fetchall"]
    );
    assert_eq!(
        last(&["f = open('x')", "data = f.read()"]),
        ["io.TextIOWrapper.read"]
    );
}

#[test]
fn values_typed_by_constructor_or_context_manager() {
    assert_eq!(
        one("import requests\ns = requests.Session()\ns.get('u')"),
        ["requests.Session.get"]
    );
    assert_eq!(
        one("with open('p', 'rb') as f:\n    f.read()"),
        ["open", "io.BufferedReader.read"]
    );
    assert_eq!(
        one("import sqlite3\nsqlite3.connect('db').execute('q')"),
        ["sqlite3.connect", "sqlite3.Connection.execute"]
    );
    assert_eq!(
        one("from pathlib import Path\nPath('p').read_text()"),
        ["pathlib.Path.read_text"]
    );
    assert_eq!(
        one("from pymongo import MongoClient\nMongoClient().db.coll.find_one({})"),
        ["pymongo.collection.Collection.find_one"]
    );
    assert_eq!(
        one("import pymongo\nc = pymongo.MongoClient()\nc['db']['users'].insert_one({})"),
        ["pymongo.collection.Collection.insert_one"]
    );
    assert_eq!(
        one("import httpx\nwith httpx.Client() as c:\n    c.post('u')"),
        ["httpx.Client.post"]
    );
    assert_eq!(
        one("from pathlib import Path\np = Path.home() / 'x'\np.exists()"),
        ["pathlib.Path.exists"]
    );
}

#[test]
fn aliases_and_partials() {
    assert_eq!(one("import time\nnap = time.sleep\nnap(1)"), ["time.sleep"]);
    assert_eq!(
        one("import time, functools\nf = functools.partial(time.sleep, 1)\nf()"),
        ["time.sleep"]
    );
    assert_eq!(
        one("from functools import partial\nimport requests\ng = partial(requests.get, 'u')\ng()"),
        ["requests.get"]
    );
    assert_eq!(
        one("import sqlite3\nc = sqlite3.connect('x')\nrun = c.execute\nrun('q')"),
        ["sqlite3.connect", "sqlite3.Connection.execute"]
    );
    let mut s = SessionState::new();
    analyze_cell("import time\nnap = time.sleep", &mut s);
    let a = analyze_cell("nap(2)", &mut s);
    assert_eq!(a.blocking_calls[0].via, "nap = time.sleep (line 2)");
}

#[test]
fn helpers_are_followed_across_cells() {
    let mut s = SessionState::new();
    analyze_cell(
        "import requests\n\ndef fetch(u):\n    return requests.get(u)",
        &mut s,
    );
    let a = analyze_cell("r = fetch('u')", &mut s);
    assert_eq!(names(&a), ["requests.get"]);
    assert_eq!(
        a.blocking_calls[0].via,
        "def fetch() (line 3) calls requests.get"
    );
    // Two levels, and a global resolved when called (imported after the definition).
    assert_eq!(
        last(&[
            "def inner():\n    time.sleep(1)\ndef outer():\n    inner()",
            "import time",
            "outer()"
        ]),
        ["time.sleep"]
    );
    // A helper returning a typed value.
    assert_eq!(
        last(&[
            "import sqlite3\ndef connect():\n    return sqlite3.connect('db')",
            "c = connect()\nc.commit()"
        ]),
        ["sqlite3.connect", "sqlite3.Connection.commit"]
    );
    // Typed arguments flow into parameters.
    assert_eq!(
        last(&[
            "import sqlite3\nconn = sqlite3.connect('x')",
            "def q(c, sql):\n    return c.execute(sql)\nq(conn, 'select 1')"
        ]),
        ["sqlite3.Connection.execute"]
    );
}

#[test]
fn functions_never_called_do_not_count() {
    assert!(one("import time\ndef later():\n    time.sleep(1)").is_empty());
    assert!(one("import time\nf = lambda: time.sleep(1)").is_empty());
    assert_eq!(
        one("import time\n(lambda: time.sleep(1))()"),
        ["time.sleep"]
    );
}

#[test]
fn class_bodies_decorators_and_methods() {
    assert_eq!(
        one("import sqlite3\nclass Db:\n    conn = sqlite3.connect('x')"),
        ["sqlite3.connect"]
    );
    assert_eq!(
        one(
            "import time\ndef slow(f):\n    time.sleep(1)\n    return f\n@slow\ndef g():\n    pass"
        ),
        ["time.sleep"]
    );
    let client = "import requests\nclass Client:\n    def __init__(self):\n        self.s = requests.Session()\n    def get(self, u):\n        return self.s.get(u)";
    assert!(last(&[client]).is_empty());
    assert_eq!(
        last(&[client, "c = Client()\nc.get('u')"]),
        ["requests.Session.get"]
    );
    assert!(last(&[client, "c = Client()"]).is_empty());
    // A wrapper from a user decorator calls the wrapped function.
    assert_eq!(
        one(
            "import time\ndef deco(f):\n    def w(*a):\n        return f(*a)\n    return w\n@deco\ndef nap():\n    time.sleep(1)\nnap()"
        ),
        ["time.sleep"]
    );
}

#[test]
fn awaited_coroutines_run_their_bodies() {
    assert_eq!(
        one("import time\nasync def main():\n    time.sleep(1)\nawait main()"),
        ["time.sleep"]
    );
    assert_eq!(
        one("import time, asyncio\nasync def a():\n    time.sleep(1)\nawait asyncio.gather(a())"),
        ["time.sleep"]
    );
    assert!(one("import time\nasync def main():\n    time.sleep(1)\nc = main()").is_empty());
    assert!(one("import time\nasync def main():\n    time.sleep(1)").is_empty());
}

#[test]
fn offloaded_callables_do_not_block_but_their_arguments_do() {
    assert!(one("import asyncio, time\nawait asyncio.to_thread(time.sleep, 1)").is_empty());
    assert!(
        one("import asyncio, requests\nloop = asyncio.get_running_loop()\nawait loop.run_in_executor(None, requests.get, 'u')")
            .is_empty()
    );
    assert!(one("import anyio, time\nawait anyio.to_thread.run_sync(time.sleep, 1)").is_empty());
    assert_eq!(
        one("import asyncio\nawait asyncio.to_thread(print, input('?'))"),
        ["input"]
    );
}

#[test]
fn shadowing_is_respected() {
    assert!(one("def sleep(x):\n    pass\nsleep(1)").is_empty());
    assert!(one("class requests:\n    def get(u): pass\nrequests.get('u')").is_empty());
    assert!(last(&["import time", "time = 3", "time.sleep(1)"]).is_empty());
    assert!(one("import asyncio as time\nawait time.sleep(1)").is_empty());
    assert!(one("import time\ndef f(time):\n    time.sleep(1)\nf(object())").is_empty());
    assert!(one("from time import sleep\nsleep = print\nsleep(1)").is_empty());
    assert!(last(&["import time", "del time", "time.sleep(1)"]).is_empty());
}

#[test]
fn async_look_alikes_are_never_flagged() {
    for cell in [
        "import asyncio\nawait asyncio.sleep(1)",
        "import aiohttp\nasync with aiohttp.ClientSession() as s:\n    r = await s.get('u')\n    t = await r.text()",
        "import aiofiles\nasync with aiofiles.open('p') as f:\n    d = await f.read()",
        "import httpx\nasync with httpx.AsyncClient() as c:\n    await c.get('u')",
        "import anyio\nawait anyio.sleep(1)",
        "import trio\nawait trio.sleep(1)",
        "import redis.asyncio as redis\nr = redis.Redis()\nawait r.get('k')",
        "from motor.motor_asyncio import AsyncIOMotorClient\nc = AsyncIOMotorClient()\nawait c.db.coll.find_one({})",
        "import asyncpg\nconn = await asyncpg.connect('dsn')\nawait conn.fetch('q')",
        "import aiosqlite\nasync with aiosqlite.connect('db') as db:\n    await db.execute('q')",
        "import asyncio\nlock = asyncio.Lock()\nasync with lock:\n    pass",
        "import asyncio\nq = asyncio.Queue()\nawait q.get()",
    ] {
        assert!(one(cell).is_empty(), "flagged: {cell}");
    }
}

#[test]
fn imports_alone_are_not_calls() {
    assert!(one("import time, requests, subprocess, sqlite3").is_empty());
    assert!(one("from time import sleep").is_empty());
}

#[test]
fn pure_path_functions_are_allowed() {
    assert!(
        one("import os\np = os.path.join('a', 'b')\nq = os.path.normpath(os.path.expanduser(p))\nb = os.path.basename(q)")
            .is_empty()
    );
    assert!(one("import io\nb = io.StringIO()\nb.write('x')\nb.read()").is_empty());
    assert!(one("from pathlib import Path\np = Path('a').with_suffix('.txt')").is_empty());
}

#[test]
fn non_blocking_forms_of_blocking_methods() {
    assert!(one("import threading\nl = threading.Lock()\nl.acquire(False)").is_empty());
    assert!(one("import threading\nl = threading.Lock()\nl.acquire(blocking=False)").is_empty());
    assert!(one("import queue\nq = queue.Queue()\nq.get(block=False)").is_empty());
    assert!(one("import queue\nq = queue.Queue()\nq.get_nowait()").is_empty());
    assert_eq!(
        one("import queue\nq = queue.Queue()\nq.get()"),
        ["queue.Queue.get"]
    );
    assert!(one("import pandas as pd\ndf = pd.DataFrame()\ns = df.to_csv()").is_empty());
    assert_eq!(
        one("import pandas as pd\ndf = pd.DataFrame()\ndf.to_csv('out.csv')"),
        ["pandas.DataFrame.to_csv"]
    );
}

#[test]
fn families_map_to_rules() {
    let mut s = SessionState::new();
    let a = analyze_cell(
        "import time, subprocess, socket, smtplib, threading, pandas\ntime.sleep(1)\nsubprocess.run(['ls'])\nsocket.gethostbyname('x')\nsmtplib.SMTP('h')\nthreading.Event().wait()\npandas.read_csv('x')\ninput()",
        &mut s,
    );
    let codes: Vec<_> = a.blocking_calls.iter().map(|c| c.rule.code).collect();
    assert_eq!(
        codes,
        [
            "PR201", "PR204", "PR207", "PR209", "PR211", "PR210", "PR202"
        ]
    );
}

#[test]
fn loop_bound_calls_keep_the_cell_on_the_loop() {
    let mut s = SessionState::new();
    let a = analyze_cell(
        "import asyncio, time\nloop = asyncio.get_event_loop()\nloop.call_soon(print)\ntime.sleep(1)",
        &mut s,
    );
    assert!(a.needs_loop_thread);
    assert_eq!(names(&a), ["time.sleep"]);
    assert!(a.reasons.iter().any(|r| r.code() == "PR101"));
    assert!(a.reasons.iter().any(|r| r.code() == "PR102"));
}

#[test]
fn unresolved_calls_are_noted_not_guessed() {
    let mut s = SessionState::new();
    let a = analyze_cell("import mydb\ncur = mydb.cursor()\ncur.execute('q')", &mut s);
    assert!(a.blocking_calls.is_empty());
    assert!(
        a.reasons
            .iter()
            .any(|r| r.code() == "PR106" && r.message.contains("cur.execute")),
        "{:?}",
        a.reasons
    );
    let a = analyze_cell("handler = registry['x']\nhandler()", &mut s);
    assert!(
        a.reasons.iter().any(|r| r.code() == "PR106"),
        "{:?}",
        a.reasons
    );
    // Ordinary calls on unknown values are not noted.
    let a = analyze_cell(
        "xs = []\nxs.append(1)\nd = {}\nd.get('k')\n', '.join(['a'])",
        &mut s,
    );
    assert!(
        !a.reasons.iter().any(|r| r.code() == "PR106"),
        "{:?}",
        a.reasons
    );
}

#[test]
fn bindings_update_even_when_the_cell_does_not_block() {
    let mut s = SessionState::new();
    let a = analyze_cell(
        "import asyncio\nimport subprocess as sp\nawait asyncio.sleep(0)",
        &mut s,
    );
    assert!(a.blocking_calls.is_empty());
    let b = analyze_cell("sp.run(['true'])", &mut s);
    assert_eq!(names(&b), ["subprocess.run"]);
}

#[test]
fn deep_nesting_does_not_overflow() {
    let deep = format!(
        "import time\nx = {}time.sleep(1){}",
        "(".repeat(150),
        ")".repeat(150)
    );
    assert_eq!(one(&deep), ["time.sleep"]);
    let mut src = String::from("import time\ndef f0():\n    time.sleep(1)\n");
    for i in 1..60 {
        src.push_str(&format!("def f{i}():\n    f{}()\n", i - 1));
    }
    src.push_str("f59()");
    // Followed up to a depth limit, never overflowing.
    let _ = one(&src);
    let rec = "import time\ndef f():\n    f()\n    time.sleep(1)\nf()";
    assert_eq!(one(rec), ["time.sleep"]);
}

#[test]
fn attributes_set_by_methods_are_kept_on_the_instance() {
    let db = "import sqlite3\nclass Db:\n    def connect(self):\n        self.conn = sqlite3.connect('x')\n    def query(self):\n        return self.conn.execute('q')\n    def setup(self):\n        self.connect()\n        return self.conn.cursor()";
    assert_eq!(
        last(&[db, "db = Db()\ndb.connect()", "db.query()"]),
        ["sqlite3.Connection.execute"]
    );
    assert_eq!(
        last(&[db, "d2 = Db()\nd2.setup()", "d2.query()"]),
        ["sqlite3.Connection.execute"]
    );
    assert!(last(&[db, "d3 = Db()"]).is_empty());
}

#[test]
fn monkeypatched_modules_are_not_what_the_tables_say() {
    assert!(last(&["import time", "time.sleep = print", "time.sleep(1)"]).is_empty());
    assert!(last(&["import os", "os.path = None", "os.path.exists('x')"]).is_empty());
    assert_eq!(
        last(&["import os", "os.path.exists('x')"]),
        ["os.path.exists"]
    );
}

#[test]
fn literal_getattr_defaults_and_properties() {
    assert_eq!(
        one("import time\ngetattr(time, 'sleep')(1)"),
        ["time.sleep"]
    );
    assert_eq!(
        one("import requests\ndef f(s=requests.Session()):\n    return s.get('u')\nf()"),
        ["requests.Session.get"]
    );
    assert_eq!(
        last(&[
            "class C:\n    @property\n    def data(self):\n        return open('x').read()",
            "c = C()\nc.data"
        ]),
        ["open", "io.TextIOWrapper.read"]
    );
}

#[test]
fn earlier_cell_functions_are_parsed_again_from_their_text() {
    // Indented methods and decorated functions survive the round trip through text.
    let cells = [
        "import time\nclass K:\n    @staticmethod\n    def nap():\n        time.sleep(1)\n\n    def work(self):\n        K.nap()",
        "K().work()",
    ];
    assert_eq!(last(&cells), ["time.sleep"]);
    let mut s = SessionState::new();
    analyze_cell("import time\n\n\ndef slow():\n    time.sleep(1)", &mut s);
    let a = analyze_cell("slow()", &mut s);
    assert_eq!(
        a.blocking_calls[0].via,
        "def slow() (line 4) calls time.sleep"
    );
}

#[test]
fn functions_given_an_open_file_do_its_io() {
    assert_eq!(
        last(&["import json\nf = open('x.json', 'w')", "json.dump({}, f)"]),
        ["json.dump"]
    );
    assert_eq!(
        last(&["log = open('log.txt', 'a')", "print('hello', file=log)"]),
        ["print"]
    );
    assert!(one("import json, io\nbuf = io.StringIO()\njson.dump({}, buf)\nprint('x')").is_empty());
    assert!(one("import sys\nprint('x', file=sys.stderr)").is_empty());
}

#[test]
fn lazy_generators_and_maps_bound_to_names_do_not_run_yet() {
    assert!(one("import os\nsizes = (os.path.getsize(p) for p in ['a'])").is_empty());
    assert!(one("import requests\npages = map(requests.get, ['u'])").is_empty());
    assert_eq!(
        one("import requests\npages = list(map(requests.get, ['u']))"),
        ["requests.get"]
    );
    assert_eq!(
        one("import os\ntotal = sum(os.path.getsize(p) for p in ['a'])"),
        ["os.path.getsize"]
    );
}

#[test]
fn exec_of_a_literal_runs_its_code_and_binds_names() {
    let mut s = SessionState::new();
    let a = analyze_cell("exec('import time\\ntime.sleep(1)')", &mut s);
    assert_eq!(names(&a), ["time.sleep"]);
    assert_eq!(
        a.blocking_calls[0].via,
        "exec(...) (line 1) calls time.sleep"
    );
    // The import made by exec binds `time` for later cells.
    assert_eq!(
        names(&analyze_cell("time.sleep(2)", &mut s)),
        ["time.sleep"]
    );
    let a = analyze_cell("code = 'x = 1'\nexec(code)", &mut s);
    assert!(a.blocking_calls.is_empty());
    assert!(a.reasons.iter().any(|r| r.code() == "PR106"));
}

#[test]
fn consuming_iterables_and_dynamic_lookups_by_literal_name() {
    assert_eq!(
        last(&["f = open('x')", "lines = list(f)"]),
        ["io.TextIOWrapper.__iter__"]
    );
    assert_eq!(
        one(
            "from concurrent.futures import ThreadPoolExecutor\nex = ThreadPoolExecutor()\nres = list(ex.map(abs, [1]))"
        ),
        ["concurrent.futures.ResultIterator.__iter__"]
    );
    assert!(one("from concurrent.futures import ThreadPoolExecutor\nex = ThreadPoolExecutor()\nit = ex.map(abs, [1])").is_empty());
    assert_eq!(
        one("import sys, time\nsys.modules['time'].sleep(1)"),
        ["time.sleep"]
    );
    assert_eq!(
        one("import time\nglobals()['time'].sleep(1)"),
        ["time.sleep"]
    );
}

#[test]
fn suspicious_methods_under_unknown_modules_are_noted() {
    let mut s = SessionState::new();
    let a = analyze_cell(
        "import mydb\nmydb.conn.execute('q')\nmydb.helpers.total([1])",
        &mut s,
    );
    assert!(a.blocking_calls.is_empty());
    let notes: Vec<_> = a.reasons.iter().filter(|r| r.code() == "PR106").collect();
    assert_eq!(notes.len(), 1, "{notes:?}");
    assert!(notes[0].message.contains("mydb.conn.execute"));
}

#[test]
fn tuples_of_typed_values_unpack() {
    assert_eq!(
        last(&[
            "import sqlite3\ndef setup():\n    c = sqlite3.connect('x')\n    return c, c.cursor()",
            "conn, cur = setup()",
            "cur.execute('q')"
        ]),
        ["sqlite3.Cursor.execute"]
    );
    assert_eq!(
        last(&[
            "import requests\npair = (1, requests.Session())",
            "pair[1].get('u')"
        ]),
        ["requests.Session.get"]
    );
}

#[test]
fn deeply_nested_partials_and_gathers_do_not_overflow() {
    let partials = format!(
        "import time, functools\np = {}time.sleep{}\np()",
        "functools.partial(".repeat(180),
        ")".repeat(180)
    );
    assert_eq!(one(&partials), ["time.sleep"]);
    let gathers = format!(
        "import asyncio, time\nasync def f():\n    time.sleep(1)\nawait {}f(){}",
        "asyncio.gather(".repeat(180),
        ")".repeat(180)
    );
    assert_eq!(one(&gathers), ["time.sleep"]);
}

#[test]
fn super_calls_reach_base_class_methods() {
    let base = "import sqlite3, requests\nclass Base:\n    def __init__(self):\n        self.conn = sqlite3.connect('x')\n    def ping(self):\n        return 1";
    assert_eq!(
        last(&[
            base,
            "class Child(Base):\n    def __init__(self):\n        super().__init__()\n\nChild()"
        ]),
        ["sqlite3.connect"]
    );
    assert!(
        last(&[base, "class Quiet(Base):\n    def ping(self):\n        return super().ping()\n\nq = Quiet.__new__(Quiet)\nQuiet.ping(q)"])
            .is_empty()
    );
    assert_eq!(
        one(
            "import requests\nclass S(requests.Session):\n    def get(self, url):\n        return super().get(url)\n\nS().get('u')"
        ),
        ["requests.Session.get"]
    );
}

#[test]
fn leaving_a_thread_pool_waits_for_its_work() {
    assert_eq!(
        one(
            "from concurrent.futures import ThreadPoolExecutor\nwith ThreadPoolExecutor() as ex:\n    ex.submit(print, 1)"
        ),
        ["concurrent.futures.ThreadPoolExecutor.shutdown"]
    );
    assert!(one("from concurrent.futures import ThreadPoolExecutor\nex = ThreadPoolExecutor()\nex.submit(print, 1)").is_empty());
    assert_eq!(
        one(
            "import multiprocessing\np = multiprocessing.Pool()\nr = p.apply_async(abs, (1,))\nr.get()"
        ),
        ["multiprocessing.pool.AsyncResult.get"]
    );
}

#[test]
fn zip_and_next_carry_the_items_of_what_they_iterate() {
    // `zip` pairs the items of its arguments; a target bound from it keeps its type.
    assert_eq!(
        one(
            "import threading\nts = [threading.Thread(target=print) for _ in range(3)]\nfor t, n in zip(ts, range(3)):\n    t.join()"
        ),
        ["threading.Thread.join"]
    );
    assert_eq!(
        one(
            "import threading\nts = [threading.Thread(target=print)]\nfor n, t in zip('ab', ts):\n    t.join()"
        ),
        ["threading.Thread.join"]
    );
    // `next` takes one item: of a typed list through `iter`, or a line of a file (a read).
    assert_eq!(
        one(
            "import threading\nts = [threading.Thread(target=print)]\nt = next(iter(ts))\nt.join()"
        ),
        ["threading.Thread.join"]
    );
    assert_eq!(
        one("f = open('x')\nfirst = next(f)"),
        ["open", "io.TextIOWrapper.__iter__"]
    );
    // Zipping a file iterates it.
    assert_eq!(
        one("f = open('x')\npairs = list(zip(f, range(3)))"),
        ["open", "io.TextIOWrapper.__iter__"]
    );
    // Items that are not typed stay plain: nothing to flag.
    assert_eq!(
        one("for a, b in zip([1, 2], 'ab'):\n    a.bit_length()"),
        Vec::<String>::new()
    );
    assert_eq!(one("x = next(iter([1, 2]), None)"), Vec::<String>::new());
}

#[test]
fn generator_functions_run_when_iterated_not_when_called() {
    let def = "import time\ndef ticks(n):\n    for i in range(n):\n        time.sleep(i)\n        yield i";
    // Calling a generator function makes a generator: nothing runs yet.
    assert!(last(&[def, "g = ticks(3)"]).is_empty());
    assert!(one(&format!("{def}\nticks(3)")).is_empty());
    // Iterating it runs the body: `for`, `next`, consumers, comprehensions.
    for consume in [
        "g = ticks(3)\nfirst = next(g)",
        "g = ticks(3)\nfirst = next(g, None)",
        "for t in ticks(3):\n    pass",
        "total = sum(ticks(3))",
        "xs = list(ticks(3))",
        "ys = [t for t in ticks(3)]",
        "print(*ticks(3))",
    ] {
        assert_eq!(last(&[def, consume]), ["time.sleep"], "{consume}");
    }
    // A method that yields, and a generator handed to a helper that iterates it.
    assert_eq!(
        one(
            "import time\nclass C:\n    def items(self):\n        time.sleep(1)\n        yield 1\nc = C()\nit = c.items()\nn = next(it)"
        ),
        ["time.sleep"]
    );
    assert!(
        one("import time\nclass C:\n    def items(self):\n        time.sleep(1)\n        yield 1\nit = C().items()")
            .is_empty()
    );
    assert_eq!(
        last(&[
            def,
            "def drain(it):\n    for _ in it:\n        pass\ndrain(ticks(2))"
        ]),
        ["time.sleep"]
    );
    // `yield` in a nested function does not make the outer one a generator.
    assert_eq!(
        one(
            "import time\ndef outer():\n    time.sleep(1)\n    def inner():\n        yield 1\n    return inner\nouter()"
        ),
        ["time.sleep"]
    );
    // `@contextmanager` generators run up to their `yield` when the `with` block is entered.
    assert_eq!(
        one(
            "import contextlib\n@contextlib.contextmanager\ndef opened(p):\n    f = open(p)\n    yield f\nwith opened('x') as fh:\n    pass"
        ),
        ["open"]
    );
}

#[test]
fn bound_generator_expressions_and_maps_run_when_iterated() {
    let setup = "import time\ndef fetch(u):\n    time.sleep(1)\n    return u\nurls = ['a', 'b']";
    assert!(last(&[setup, "g = (fetch(u) for u in urls)"]).is_empty());
    assert_eq!(
        last(&[setup, "g = (fetch(u) for u in urls)", "x = next(g)"]),
        ["time.sleep"]
    );
    assert_eq!(
        last(&[setup, "g = (fetch(u) for u in urls)", "xs = list(g)"]),
        ["time.sleep"]
    );
    assert!(last(&[setup, "m = map(fetch, urls)"]).is_empty());
    assert_eq!(
        last(&[setup, "m = map(fetch, urls)", "x = next(m)"]),
        ["time.sleep"]
    );
}

#[test]
fn lists_of_user_instances_give_their_items() {
    let class = "import subprocess\nclass Job:\n    def run(self):\n        return subprocess.run(['true'])";
    for cell in [
        "jobs = [Job(), Job()]\nfor j in jobs:\n    j.run()",
        "jobs = [Job(), Job()]\ncodes = [j.run().returncode for j in jobs]",
        "jobs = []\njobs.append(Job())\nfor j in jobs:\n    j.run()",
        "jobs = (Job(), Job())\nfor j in jobs:\n    j.run()",
        "jobs = [Job() for _ in range(3)]\njobs[0].run()",
    ] {
        assert_eq!(last(&[class, cell]), ["subprocess.run"], "{cell}");
    }
    // Instances of two different classes: the item's type is unknown (nothing guessed).
    assert!(
        last(&[
            class,
            "class Other:\n    def run(self):\n        return 1\nfor j in [Job(), Other()]:\n    j.run()"
        ])
        .is_empty()
    );
}

#[test]
fn pandas_frames_and_in_memory_buffers() {
    let imports = "import io\nfrom io import StringIO\nimport pandas as pd";
    // Parsing text already in memory reads no file.
    for cell in [
        "a = pd.read_csv(StringIO('a,b\\n1,2'))",
        "a = pd.read_csv(io.StringIO('a,b\\n1,2'))",
        "buf = io.BytesIO(b'x')\na = pd.read_parquet(buf)",
        "a = pd.read_json(path_or_buf=StringIO('[]'))",
    ] {
        assert!(last(&[imports, cell]).is_empty(), "{cell}");
    }
    assert_eq!(
        last(&[imports, "a = pd.read_csv('data.csv')"]),
        ["pandas.read_csv"]
    );
    // `read_sql` queries a database whatever its arguments.
    assert_eq!(
        last(&[imports, "a = pd.read_sql(StringIO('q'), con)"]),
        ["pandas.read_sql"]
    );
    // Combined and filtered frames are frames: writing one to a path blocks.
    assert_eq!(
        last(&[
            imports,
            "a = pd.DataFrame({'x': [1]})\ndf = pd.concat([a, a]).dropna()\nout = df[df['x'] > 0]\nout.to_csv('o.csv')"
        ]),
        ["pandas.DataFrame.to_csv"]
    );
    assert!(
        last(&[
            imports,
            "a = pd.DataFrame({'x': [1]})\ndf = pd.merge(a, a)\ntext = df.to_csv()"
        ])
        .is_empty()
    );
}

#[test]
fn dict_comprehension_values_and_dict_views() {
    let table =
        "import time\nnap = time.sleep\ndelays = [0.1, 0.2]\nschedule = {d: nap for d in delays}";
    for cell in [
        "for d in delays:\n    schedule[d](d)",
        "f = schedule.get(0.1)\nf(1)",
        "for fn in schedule.values():\n    fn(1)",
        "for k, fn in schedule.items():\n    fn(k)",
    ] {
        assert_eq!(last(&[table, cell]), ["time.sleep"], "{cell}");
    }
    // Iterating a dict gives its keys, not its values.
    assert!(last(&[table, "for d in schedule:\n    print(d)"]).is_empty());
    // A dict display's values, reached through `.items()` in a helper.
    let frames = "import pandas as pd\ndf = pd.DataFrame({'a': [1]})\nto_save = {'all': df, 'head': df.head()}";
    assert_eq!(
        last(&[
            frames,
            "def save_all(named):\n    for name, frame in named.items():\n        frame.to_parquet(f'{name}.parquet')\nsave_all(to_save)"
        ]),
        ["pandas.DataFrame.to_parquet"]
    );
    assert!(
        last(&[
            frames,
            "for name, frame in to_save.items():\n    print(name, len(frame))"
        ])
        .is_empty()
    );
    assert_eq!(
        last(&[frames, "to_save.get('all').to_csv('all.csv')"]),
        ["pandas.DataFrame.to_csv"]
    );
}

#[test]
fn tables_filled_by_subscript_assignment() {
    // A tool registry filled by a decorator, as agent tool runners write it.
    let registry = "import requests\nTOOLS = {}\ndef tool(fn):\n    TOOLS[fn.__name__] = fn\n    return fn\n@tool\ndef web_search(q):\n    return requests.get('https://s.example', params={'q': q}).json()\n@tool\ndef word_count(text):\n    return len(text.split())";
    assert_eq!(
        last(&[registry, "hits = TOOLS['web_search']('pyo3')"]),
        ["requests.get"]
    );
    assert!(last(&[registry, "n = TOOLS['word_count']('a b')"]).is_empty());
    // Defining and registering runs nothing.
    assert!(one(registry).is_empty());
    // A table of typed values, filled key by key.
    assert_eq!(
        one(
            "import sqlite3\nconfig = {}\nconfig['db'] = sqlite3.connect('x.db')\nrows = config['db'].execute('select 1')"
        ),
        ["sqlite3.connect", "sqlite3.Connection.execute"]
    );
    // Replacing an entry by a value pyrepl3 does not follow forgets it.
    assert!(one("import time\nT = {'nap': time.sleep}\nT['nap'] = print\nT['nap'](1)").is_empty());
}

#[test]
fn lambdas_called_at_once_or_later() {
    let setup = "import time\nxs = [3, 1, 2]";
    // Called by the callee it is handed to (found again in the cell's tree, not copied).
    for cell in [
        "ys = sorted(xs, key=lambda x: time.sleep(x) or x)",
        "ys = list(map(lambda x: time.sleep(x), xs))",
        "m = max(xs, key=(lambda x: time.sleep(x) or x) if xs else None)",
    ] {
        assert_eq!(last(&[setup, cell]), ["time.sleep"], "{cell}");
    }
    // Kept for later: copied, so a later cell still runs its body.
    for (keep, call) in [
        ("f = lambda x: time.sleep(x)", "f(1)"),
        ("m = map(lambda x: time.sleep(x), xs)", "first = next(m)"),
        (
            "ys = sorted(xs, key=(k := lambda x: time.sleep(x) or x))",
            "k(1)",
        ),
    ] {
        assert_eq!(last(&[setup, keep, call]), ["time.sleep"], "{keep}");
    }
    assert!(last(&[setup, "f = lambda x: time.sleep(x)"]).is_empty());
}

#[test]
fn classes_classmethods_super_init_iterators_and_dataclasses() {
    // `super().__init__(...)` sets attributes on the instance being made.
    let store = "import json\nfrom pathlib import Path\nclass Store:\n    def __init__(self, root):\n        self.root = Path(root)\n    def load(self, key):\n        return json.loads((self.root / key).read_text())\nclass Cached(Store):\n    def __init__(self, root):\n        super().__init__(root)\n        self.mem = {}\n    def load(self, key):\n        if key not in self.mem:\n            self.mem[key] = super().load(key)\n        return self.mem[key]\ncs = Cached('/var/cache')";
    assert_eq!(
        last(&[store, "again = cs.load('orders')"]),
        ["pathlib.Path.read_text"]
    );
    assert_eq!(
        last(&[store, "text = cs.root.read_text()"]),
        ["pathlib.Path.read_text"]
    );
    // A classmethod gets the class: `cls(...)` makes an instance.
    let config = "import json\nclass Config:\n    def __init__(self, path):\n        self.path = path\n    @property\n    def data(self):\n        with open(self.path) as f:\n            return json.load(f)\n    @classmethod\n    def from_env(cls):\n        return cls('config.json')\nc = Config.from_env()";
    assert!(one(config).is_empty());
    assert_eq!(last(&[config, "debug = c.data"]), ["open", "json.load"]);
    // A user iterable: `iter()` makes the iterator, `next()` and loops run it.
    let lines = "class Lines:\n    def __init__(self, path):\n        self.path = path\n    def __iter__(self):\n        with open(self.path) as f:\n            yield from f\nsrc = Lines('events.log')";
    assert!(last(&[lines, "it = iter(src)"]).is_empty());
    // `yield from f` reads the file it delegates to.
    assert_eq!(
        last(&[lines, "it = iter(src)", "first = next(it)"]),
        ["open", "io.TextIOWrapper.__iter__"]
    );
    assert_eq!(
        last(&[lines, "for line in src:\n    pass"]),
        ["open", "io.TextIOWrapper.__iter__"]
    );
    // `glob.iglob` reads the directory as it is iterated.
    let iglob = "from glob import iglob\nparts = iglob('/data/*.parquet')";
    assert!(one(iglob).is_empty());
    assert_eq!(last(&[iglob, "first = next(parts, None)"]), ["glob.iglob"]);
    // A dataclass's `__post_init__` runs when an instance is made.
    assert_eq!(
        one(
            "from dataclasses import dataclass\n@dataclass\nclass Job:\n    log_path: str\n    def __post_init__(self):\n        self.log = open(self.log_path, 'a')\njob = Job('/var/log/x.log')"
        ),
        ["open"]
    );
    // A list of one function gives that function.
    assert_eq!(
        one(
            "import shutil\ndef cleanup(path='/tmp/x'):\n    shutil.rmtree(path)\nhooks = [cleanup]\nfor hook in hooks:\n    hook()"
        ),
        ["shutil.rmtree"]
    );
}

#[test]
fn tool_dispatch_by_name() {
    // Tools registered under a name given to a decorator factory, dispatched by a name that
    // arrives in a dict (as an agent's tool call does) or as an argument.
    let tools = "import httpx\nfrom pathlib import Path\nTOOLS = {}\ndef tool(name):\n    def register(fn):\n        TOOLS[name] = fn\n        return fn\n    return register\n@tool('calculator')\ndef calculator(expr):\n    return str(len(expr))\n@tool('read_file')\ndef read_file(path):\n    return Path(path).read_text()\n@tool('http_get')\ndef http_get(url):\n    return httpx.get(url).text\ndef dispatch(call):\n    fn = TOOLS[call['name']]\n    return fn(**call['arguments'])\ndef run(name, **args):\n    return TOOLS[name](**args)";
    assert!(one(tools).is_empty());
    assert_eq!(
        last(&[
            tools,
            "notes = dispatch({'name': 'read_file', 'arguments': {'path': 'todo.md'}})"
        ]),
        ["pathlib.Path.read_text"]
    );
    assert!(
        last(&[
            tools,
            "answer = dispatch({'name': 'calculator', 'arguments': {'expr': '6*7'}})"
        ])
        .is_empty()
    );
    assert_eq!(
        last(&[tools, "page = run('http_get', url='https://example.org')"]),
        ["httpx.get"]
    );
    assert!(last(&[tools, "n = run('calculator', expr='1+1')"]).is_empty());
    // An unknown name picks any tool: nothing is claimed unless every tool blocks.
    assert!(
        last(&[
            tools,
            "def ask(n):\n    return run(n, x=1)\nask(input_name)"
        ])
        .is_empty()
    );
}

#[test]
fn values_through_unpacking_attributes_indexes_and_patches() {
    // Tuple unpacking of calls.
    let pair = "import sqlite3, threading\ndb, lock = sqlite3.connect('t.db'), threading.Lock()";
    assert_eq!(
        last(&[pair, "db.execute('select 1')"]),
        ["sqlite3.Connection.execute"]
    );
    assert_eq!(
        last(&[pair, "with lock:\n    n = 1"]),
        ["threading.Lock.acquire"]
    );
    // An attribute set on a user object from outside its methods.
    assert_eq!(
        one(
            "import requests\nclass Holder:\n    pass\nh = Holder()\nh.session = requests.Session()\nh.session.get('https://x')"
        ),
        ["requests.Session.get"]
    );
    // A list of values of different types, by index.
    assert_eq!(
        one(
            "import sqlite3, requests\ndb = sqlite3.connect('x')\ns = requests.Session()\nhandles = [db, s]\nhandles[0].commit()"
        ),
        ["sqlite3.connect", "sqlite3.Connection.commit"]
    );
    // A monkeypatched module attribute, the original kept under another name, and restored.
    let patched = "import time\ndef fake_sleep(s):\n    return s\nreal_sleep = time.sleep\ntime.sleep = fake_sleep";
    assert!(last(&[patched, "time.sleep(30)"]).is_empty());
    assert_eq!(last(&[patched, "real_sleep(0.01)"]), ["time.sleep"]);
    assert_eq!(
        last(&[patched, "time.sleep = real_sleep", "time.sleep(0.01)"]),
        ["time.sleep"]
    );
    // Inside `with mock.patch(...)` the mock is called; after it, the real function.
    let mock = "import os\nfrom unittest import mock\nimport unittest.mock as um";
    assert!(
        last(&[
            mock,
            "with mock.patch('os.listdir', return_value=[]):\n    xs = os.listdir('/x')"
        ])
        .is_empty()
    );
    assert!(
        last(&[
            mock,
            "with um.patch.object(os, 'system', return_value=0):\n    rc = os.system('reboot')"
        ])
        .is_empty()
    );
    assert_eq!(
        last(&[
            mock,
            "with mock.patch('os.listdir', return_value=[]):\n    pass\nxs = os.listdir('/x')"
        ]),
        ["os.listdir"]
    );
    // Closing a written file flushes it; a delayed log file is opened on the first record.
    assert_eq!(
        last(&["out = open('o.csv', 'w')", "out.close()"]),
        ["io.TextIOWrapper.close"]
    );
    assert!(
        one("import logging\nh = logging.FileHandler('/var/log/a.log', delay=True)").is_empty()
    );
    assert_eq!(
        one("import logging\nh = logging.FileHandler('/var/log/a.log')"),
        ["logging.FileHandler"]
    );
    // `Path.glob` is a generator: a generator expression over it reads nothing yet.
    let paths = "from pathlib import Path";
    assert!(last(&[paths, "lazy = (p for p in Path('refs').glob('*.fa'))"]).is_empty());
    assert_eq!(
        last(&[paths, "for p in Path('refs').glob('*.fa'):\n    print(p)"]),
        ["pathlib.Path.glob"]
    );
    assert_eq!(
        last(&[paths, "names = sorted(Path('refs').iterdir())"]),
        ["pathlib.Path.iterdir"]
    );
}

#[test]
fn dataclass_fields_hold_their_arguments() {
    let ctx = "import requests\nfrom dataclasses import dataclass\n@dataclass\nclass Ctx:\n    session: requests.Session\n    name: str = 'x'\nctx = Ctx(requests.Session())";
    assert!(one(ctx).is_empty());
    assert_eq!(
        last(&[ctx, "r = ctx.session.get('https://example.org')"]),
        ["requests.Session.get"]
    );
    assert_eq!(
        last(&[
            ctx,
            "c2 = Ctx(name='y', session=requests.Session())\nc2.session.get('u')"
        ]),
        ["requests.Session.get"]
    );
    // A tool call whose name is a field, dispatched through a table.
    assert_eq!(
        one(
            "import subprocess\nfrom dataclasses import dataclass\n@dataclass\nclass Call:\n    name: str\n    args: dict\ndef shell(cmd):\n    return subprocess.run(cmd, shell=True)\ndef calc(expr):\n    return len(expr)\nTOOLS = {'shell': shell, 'calc': calc}\ndef execute(call):\n    return TOOLS[call.name](**call.args)\nout = execute(Call('shell', {'cmd': 'ls'}))"
        ),
        ["subprocess.run"]
    );
}

#[test]
fn unpacked_items_partials_in_lists_and_lazy_os_walk() {
    assert_eq!(
        last(&[
            "import redis\ncaches = [redis.Redis(host='a'), redis.Redis(host='b')]",
            "primary, replica = caches\nprimary.set('k', 'v')"
        ]),
        ["redis.Redis.set"]
    );
    let jobs = "import time\nfrom functools import partial\ndef nap(s):\n    time.sleep(s)\njobs = [partial(nap, n) for n in (1, 2)]";
    assert!(one(jobs).is_empty());
    assert_eq!(
        last(&[jobs, "for i, job in enumerate(jobs):\n    job()"]),
        ["time.sleep"]
    );
    let walk = "import os\nwalker = os.walk('/data')";
    assert!(one(walk).is_empty());
    assert_eq!(
        last(&[walk, "total = sum(len(files) for _r, _d, files in walker)"]),
        ["os.walk"]
    );
    assert_eq!(
        one("import os\nfor root, dirs, files in os.walk('/data'):\n    pass"),
        ["os.walk"]
    );
}

#[test]
fn lazy_filter_and_module_reload() {
    let setup = "import os\ndef big(p):\n    return os.path.getsize(p) > 10\npaths = ['a', 'b']";
    assert!(last(&[setup, "kept = filter(big, paths)"]).is_empty());
    assert_eq!(
        last(&[setup, "kept = filter(big, paths)", "found = any(kept)"]),
        ["os.path.getsize"]
    );
    assert_eq!(
        one("import os, importlib\nos = importlib.reload(os)\nos.stat('/etc/hosts')"),
        ["importlib.reload", "os.stat"]
    );
}

#[test]
fn lists_of_generators_starred_coroutines_dunders_and_string_keys() {
    // A list of generators of one function, consumed by a nested generator expression.
    assert_eq!(
        one(
            "def lines(p):\n    with open(p) as fh:\n        for line in fh:\n            yield line\nstreams = [lines(p) for p in ['a', 'b']]\nn = sum(1 for s in streams for _ in s)"
        ),
        ["open", "io.TextIOWrapper.__iter__"]
    );
    // Coroutines unpacked into gather run their bodies on the loop.
    assert_eq!(
        one(
            "import asyncio, socket\nasync def probe(h):\n    return socket.create_connection((h, 80))\nawait asyncio.gather(*(probe(h) for h in ['a', 'b']))"
        ),
        ["socket.create_connection"]
    );
    // `posix.system` is `os.system`.
    assert_eq!(one("import posix\nposix.system('true')"), ["posix.system"]);
    // Builtins that call a user class's special methods.
    let store = "import sqlite3\nclass Store:\n    def __len__(self):\n        return sqlite3.connect('g.db').execute('select 1').fetchone()[0]\nstore = Store()";
    assert!(one(store).is_empty());
    assert_eq!(
        last(&[store, "n = len(store)"]),
        [
            "sqlite3.connect",
            "sqlite3.Connection.execute",
            "sqlite3.Cursor.fetchone"
        ]
    );
    assert!(last(&[store, "def len(x):\n    return 0\nn = len(store)"]).is_empty());
    // `__setattr__` runs for every attribute assignment.
    assert_eq!(
        one(
            "import json\nclass Saved:\n    def __setattr__(self, k, v):\n        with open('s.json', 'w') as f:\n            json.dump({k: v}, f)\ns = Saved()\ns.volume = 3"
        ),
        ["open", "json.dump"]
    );
    // A key assigned as a string, then looked up.
    assert_eq!(
        one(
            "import time\nhandlers = {'save': lambda: time.sleep(1), 'noop': lambda: None}\naction = 'save'\nhandlers[action]()"
        ),
        ["time.sleep"]
    );
    assert!(
        one("import time\nhandlers = {'save': lambda: time.sleep(1), 'noop': lambda: None}\naction = 'noop'\nhandlers[action]()")
            .is_empty()
    );
}

#[test]
fn subscripts_of_user_objects_run_getitem() {
    let store = "from pathlib import Path\nclass Prompts:\n    def __init__(self, root):\n        self.root = Path(root)\n    def __getitem__(self, name):\n        return (self.root / f'{name}.md').read_text()\nstore = Prompts('prompts')";
    assert!(one(store).is_empty());
    assert_eq!(
        last(&[store, "tmpl = store['summarize']"]),
        ["pathlib.Path.read_text"]
    );
}

#[test]
fn streamed_responses_read_their_body_later() {
    let fetched = "import requests\nr = requests.get('https://x', stream=True)";
    assert_eq!(one(fetched), ["requests.get"]);
    assert_eq!(
        last(&[fetched, "data = r.json()"]),
        ["requests.models.Response.json"]
    );
    // Without `stream=True` the body was read by `get`.
    assert!(
        last(&[
            "import requests\nr = requests.get('https://x')",
            "data = r.json()"
        ])
        .is_empty()
    );
    assert_eq!(
        one(
            "import requests\ns = requests.Session()\nfor line in s.post('https://x', stream=True).iter_lines():\n    pass"
        ),
        [
            "requests.Session.post",
            "requests.models.Response.iter_lines"
        ]
    );
}

#[test]
fn mongo_cursors_query_when_iterated() {
    let made = "from pymongo import MongoClient\nposts = MongoClient().blog.posts\ncur = posts.find({'a': 1}).sort('ts').limit(3)";
    assert!(one(made).is_empty());
    assert_eq!(
        last(&[made, "for p in cur:\n    print(p)"]),
        ["pymongo.cursor.Cursor.__iter__"]
    );
    assert_eq!(
        last(&[made, "docs = list(cur)"]),
        ["pymongo.cursor.Cursor.__iter__"]
    );
    assert_eq!(
        last(&[made, "first = cur.next()"]),
        ["pymongo.cursor.Cursor.next"]
    );
    // `find_one` still queries at once.
    assert_eq!(
        last(&[made, "posts.find_one({})"]),
        ["pymongo.collection.Collection.find_one"]
    );
}

#[test]
fn sqlite_iterdump_is_lazy() {
    let dump = "import sqlite3\ncon = sqlite3.connect(':memory:')\ndump = con.iterdump()";
    assert_eq!(one(dump), ["sqlite3.connect"]);
    assert_eq!(
        last(&[dump, "for stmt in dump:\n    print(stmt)"]),
        ["sqlite3.Connection.iterdump"]
    );
}

#[test]
fn archives_and_writers_over_buffers_touch_memory() {
    assert!(
        one("import io, zipfile\nmem = io.BytesIO()\nwith zipfile.ZipFile(mem, 'w') as zf:\n    zf.writestr('a', 'b')\nnames = zipfile.ZipFile(io.BytesIO(mem.getvalue())).namelist()")
            .is_empty()
    );
    assert!(
        one("import io, tarfile\nwith tarfile.open(fileobj=io.BytesIO(), mode='w') as tar:\n    tar.addfile(tarfile.TarInfo('x'), io.BytesIO(b''))")
            .is_empty()
    );
    assert!(
        one("import gzip, io\ndata = gzip.GzipFile(fileobj=io.BytesIO(b'')).read()").is_empty()
    );
    assert_eq!(
        one("import zipfile\nz = zipfile.ZipFile('a.zip')\nz.read('x')"),
        ["zipfile.ZipFile", "zipfile.ZipFile.read"]
    );
    assert!(one("import io\nimport pandas as pd\ndf = pd.DataFrame()\nbuf = io.StringIO()\ndf.to_csv(buf)").is_empty());
    assert_eq!(
        one("import pandas as pd\ndf = pd.DataFrame()\ndf.to_csv('out.csv')"),
        ["pandas.DataFrame.to_csv"]
    );
}

#[test]
fn smtp_looks_up_its_host_name_unless_given_one() {
    assert_eq!(one("import smtplib\ns = smtplib.SMTP()"), ["smtplib.SMTP"]);
    assert!(one("import smtplib\ns = smtplib.SMTP(local_hostname='me.example.org')").is_empty());
    assert_eq!(
        one("import smtplib\ns = smtplib.SMTP('mail', local_hostname='me')"),
        ["smtplib.SMTP"]
    );
    // `ftplib.FTP()` without a host does nothing on the network.
    assert!(one("import ftplib\nf = ftplib.FTP()").is_empty());
}

#[test]
fn trio_run_blocks_and_asyncio_run_walks_its_coroutine() {
    // `trio.run` runs trio's loop on this thread until `main` returns.
    assert_eq!(
        one("import trio\nasync def main():\n    await trio.sleep(1)\ntrio.run(main)"),
        ["trio.run"]
    );
    // On the session's loop thread `asyncio.run` raises before running anything: it is not
    // reported, but the coroutine's own blocking calls are.
    let main = "import asyncio, time\nasync def main():\n    await asyncio.sleep(1)\n";
    assert!(one(&format!("{main}asyncio.run(main())")).is_empty());
    assert_eq!(
        one("import asyncio, time\nasync def main():\n    time.sleep(1)\nasyncio.run(main())"),
        ["time.sleep"]
    );
    assert!(one(&format!("{main}await main()")).is_empty());
}

#[test]
fn sleeps_in_handlers_of_a_try_that_does_not_block_do_not_run() {
    let retry = "import time, functools\ndef retry(fn):\n    @functools.wraps(fn)\n    def wrapper(*a):\n        for i in range(3):\n            try:\n                return fn(*a)\n            except ValueError:\n                time.sleep(2 ** i)\n    return wrapper\n@retry\ndef parse_port(s):\n    return int(s)\n@retry\ndef fetch(u):\n    return open(u).read()";
    assert!(last(&[retry, "port = parse_port('8080')"]).is_empty());
    // When the body blocks, the backoff counts too.
    assert_eq!(
        last(&[retry, "text = fetch('a.txt')"]),
        ["open", "io.TextIOWrapper.read", "time.sleep"]
    );
    // Handlers' other blocking calls still count.
    assert_eq!(
        one(
            "import json\ntry:\n    cfg = json.loads('{')\nexcept ValueError:\n    cfg = open('default.json').read()"
        ),
        ["open", "io.TextIOWrapper.read"]
    );
}

#[test]
fn builtins_that_do_not_iterate_leave_generators_unrun() {
    let made = "def lines(p):\n    with open(p) as f:\n        yield from f\ng = lines('a.txt')";
    assert!(last(&[made, "print(type(g).__name__, g)"]).is_empty());
    assert_eq!(
        last(&[made, "print(list(g))"]),
        ["open", "io.TextIOWrapper.__iter__"]
    );
    // A function returning a generator expression returns it unrun.
    let wrap = "def errors(it):\n    return (l for l in it if 'E' in l)";
    assert!(last(&[made, wrap, "errs = errors(g)"]).is_empty());
    assert_eq!(
        last(&[made, wrap, "errs = errors(g)", "first = next(errs)"]),
        ["open", "io.TextIOWrapper.__iter__"]
    );
}

#[test]
fn itertools_wrappers_stay_lazy_until_consumed() {
    let made =
        "import itertools as itt\nchained = itt.chain.from_iterable(map(open, ['a.log', 'b.log']))";
    assert!(one(made).is_empty());
    assert_eq!(
        last(&[made, "head = list(itt.islice(chained, 5))"]),
        ["open"]
    );
    let reader = "import csv, itertools\nfh = open('e.csv')\nreader = csv.reader(fh)";
    assert!(last(&[reader, "batch = itertools.islice(reader, 100)"]).is_empty());
    assert_eq!(
        last(&[
            reader,
            "batch = itertools.islice(reader, 100)",
            "rows = list(batch)"
        ]),
        ["csv.reader.__iter__"]
    );
    // A generator expression handed to a wrapper is not run either.
    assert!(
        one("import itertools\nlines = itertools.islice((open(p).read() for p in ['a', 'b']), 1)")
            .is_empty()
    );
}

#[test]
fn lazy_library_iterators_run_when_iterated() {
    let streamed =
        "import requests\nbig = requests.get('https://x', stream=True)\nlines = big.iter_lines()";
    assert_eq!(one(streamed), ["requests.get"]);
    assert_eq!(
        last(&[streamed, "first = next(lines)"]),
        ["requests.models.Response.iter_lines"]
    );
    // Without `stream=True` the lines come from memory.
    assert!(
        last(&[
            "import requests\nr = requests.get('https://x')",
            "for line in r.iter_lines():\n    pass"
        ])
        .is_empty()
    );
    let stream = "import fileinput\nstream = fileinput.input(['a.log', 'b.log'])";
    assert!(one(stream).is_empty());
    assert_eq!(
        last(&[stream, "errors = [l for l in stream if 'E' in l]"]),
        ["fileinput.input"]
    );
    let pages = "import boto3\ns3 = boto3.client('s3')\npages = s3.get_paginator('list_objects_v2').paginate(Bucket='b')";
    assert_eq!(
        one(pages),
        ["boto3.client", "botocore.client.BaseClient.get_paginator"]
    );
    assert_eq!(
        last(&[pages, "keys = [o for p in pages for o in p['Contents']]"]),
        ["botocore.paginate.Paginator.paginate"]
    );
    let chunks = "import pandas as pd\nreader = pd.read_csv('big.csv', chunksize=1000)";
    assert_eq!(one(chunks), ["pandas.read_csv"]);
    assert_eq!(
        last(&[chunks, "first = next(iter(reader))"]),
        ["pandas.io.parsers.TextFileReader.__iter__"]
    );
}

#[test]
fn constructors_and_polls_that_do_not_wait() {
    assert!(
        one("import select, socket\ns = socket.socket()\nr, _, _ = select.select([s], [], [], 0)")
            .is_empty()
    );
    assert_eq!(
        one("import select, socket\ns = socket.socket()\nr, _, _ = select.select([s], [], [], 5)"),
        ["select.select"]
    );
    assert!(one("import pymongo\nc = pymongo.MongoClient('mongodb://db:27017')").is_empty());
    assert_eq!(
        one("import pymongo\nc = pymongo.MongoClient('mongodb+srv://cluster0.example.net')"),
        ["pymongo.MongoClient"]
    );
    assert!(
        one("import io\nimport pandas as pd\ndf = pd.DataFrame()\ndf.to_pickle(io.BytesIO())")
            .is_empty()
    );
    assert_eq!(
        one("import paramiko\nssh = paramiko.SSHClient()\nssh.load_system_host_keys()"),
        ["paramiko.SSHClient.load_system_host_keys"]
    );
}

#[test]
fn dataclass_factories_and_subclass_hooks_run() {
    let job = "from dataclasses import dataclass, field\n@dataclass\nclass Job:\n    name: str\n    log: object = field(default_factory=lambda: open('/tmp/job.log', 'a'))";
    assert!(one(job).is_empty());
    assert_eq!(last(&[job, "job = Job('nightly')"]), ["open"]);
    // Given the field, the factory does not run.
    assert!(last(&[job, "job = Job('nightly', None)"]).is_empty());
    assert!(last(&[job, "job = Job('nightly', log=None)"]).is_empty());
    let plugin = "class Plugin:\n    seen = {}\n    def __init_subclass__(cls, **kw):\n        Plugin.seen[cls.__name__] = open('p.toml').read()";
    assert!(one(plugin).is_empty());
    assert_eq!(
        last(&[plugin, "class Csv(Plugin):\n    suffix = '.csv'"]),
        ["open", "io.TextIOWrapper.read"]
    );
}

#[test]
fn logging_writes_a_file_when_configured_to() {
    let setup = "import logging\nlog = logging.getLogger('app')\nlog.setLevel(logging.INFO)\nfh = logging.FileHandler('app.log', delay=True)";
    assert!(one(setup).is_empty());
    // No file handler yet: records go to stderr (or nowhere).
    assert!(last(&[setup, "log.info('x')"]).is_empty());
    let with_file = [setup, "log.addHandler(fh)"];
    assert!(last(&with_file).is_empty());
    assert_eq!(
        last(&[with_file[0], with_file[1], "log.info('started')"]),
        ["logging.Logger.info"]
    );
    // Below the logger's level nothing is written.
    assert!(last(&[with_file[0], with_file[1], "log.debug('noise')"]).is_empty());
    // The root logger's file, by `basicConfig`: its default level is WARNING.
    let root = "import logging\nlogging.basicConfig(filename='x.log')";
    assert_eq!(one(root), ["logging.basicConfig"]);
    assert!(last(&[root, "logging.info('below')"]).is_empty());
    assert_eq!(last(&[root, "logging.error('written')"]), ["logging.error"]);
    // Records of other loggers propagate to the root's file, unless told not to.
    assert_eq!(
        last(&[
            root,
            "other = logging.getLogger('other')\nother.warning('w')"
        ]),
        ["logging.Logger.warning"]
    );
    assert!(
        last(&[
            root,
            "other = logging.getLogger('other')\nother.propagate = False\nother.warning('w')"
        ])
        .is_empty()
    );
}

#[test]
fn memoized_calls_run_once() {
    let cached = "import functools, sqlite3\n@functools.lru_cache(maxsize=None)\ndef tables(db):\n    return sqlite3.connect(db).execute('select 1').fetchall()";
    assert_eq!(
        last(&[cached, "a = tables('app.db')"]),
        [
            "sqlite3.connect",
            "sqlite3.Connection.execute",
            "sqlite3.Cursor.fetchall"
        ]
    );
    assert!(last(&[cached, "a = tables('app.db')", "b = tables('app.db')"]).is_empty());
    // Other arguments are another call.
    assert_eq!(
        last(&[cached, "a = tables('app.db')", "b = tables('other.db')"]).len(),
        3
    );
    let prop = "import functools, json\nclass S:\n    @functools.cached_property\n    def data(self):\n        with open('s.json') as f:\n            return json.load(f)\ncfg = S()";
    assert_eq!(last(&[prop, "r = cfg.data['r']"]), ["open", "json.load"]);
    assert!(last(&[prop, "r = cfg.data['r']", "z = cfg.data['z']"]).is_empty());
}

#[test]
fn first_use_loads_and_rollover_moves_to_disk() {
    let mt = "import mimetypes\nkind, _ = mimetypes.guess_type('a.csv')";
    assert_eq!(one(mt), ["mimetypes.guess_type"]);
    assert!(last(&[mt, "mimetypes.add_type('text/markdown', '.md')"]).is_empty());
    let tz = "import zoneinfo\nparis = zoneinfo.ZoneInfo('Europe/Paris')";
    assert_eq!(one(tz), ["zoneinfo.ZoneInfo"]);
    assert!(last(&[tz, "again = zoneinfo.ZoneInfo('Europe/Paris')"]).is_empty());
    assert_eq!(
        last(&[tz, "tokyo = zoneinfo.ZoneInfo('Asia/Tokyo')"]),
        ["zoneinfo.ZoneInfo"]
    );
    let spool = "import tempfile\nspool = tempfile.SpooledTemporaryFile(max_size=1 << 20)\nspool.write(b'x')\nhead = spool.read(1)";
    assert!(one(spool).is_empty());
    assert_eq!(
        last(&[spool, "spool.rollover()"]),
        ["tempfile.SpooledTemporaryFile.rollover"]
    );
    assert_eq!(
        last(&[spool, "spool.rollover()", "rest = spool.read()"]),
        ["io.BufferedRandom.read"]
    );
}

#[test]
fn contextmanager_binds_what_it_yields() {
    let cm = "import contextlib, socket\n@contextlib.contextmanager\ndef listening(port):\n    srv = socket.create_server(('127.0.0.1', port))\n    yield srv\n    srv.close()";
    assert!(one(cm).is_empty());
    assert_eq!(
        last(&[
            cm,
            "with listening(8765) as srv:\n    client, peer = srv.accept()"
        ]),
        ["socket.socket.accept"]
    );
    // A file yielded from an opened `with` is the file.
    let opened = "import contextlib\n@contextlib.contextmanager\ndef opened(p):\n    with open(p) as f:\n        yield f";
    assert_eq!(
        last(&[opened, "with opened('a.txt') as f:\n    data = f.read()"]),
        ["open", "io.TextIOWrapper.read"]
    );
}

#[test]
fn branches_decided_by_constants_run_or_not() {
    assert!(one("import os\nDEBUG = False\nif DEBUG:\n    print(os.stat('.'))").is_empty());
    assert_eq!(
        one("import os\nDEBUG = True\nif DEBUG:\n    print(os.stat('.'))"),
        ["os.stat"]
    );
    // A flag set in an earlier cell.
    assert!(
        last(&[
            "import os\nDEBUG = 0",
            "if DEBUG:\n    os.remove('x')\nelse:\n    pass"
        ])
        .is_empty()
    );
    assert_eq!(
        one("import os\nif __name__ == '__main__':\n    os.makedirs('out', exist_ok=True)"),
        ["os.makedirs"]
    );
    // Short circuits, conditional expressions, asserts, empty loops and comprehensions.
    assert!(one("import os\nok = False and os.path.exists('x')").is_empty());
    assert_eq!(
        one("import os\nok = True and os.path.exists('x')"),
        ["os.path.exists"]
    );
    assert!(one("import subprocess\nb = 'main' or subprocess.check_output(['git'])").is_empty());
    assert!(one("from pathlib import Path\nassert True, Path('C').read_text()").is_empty());
    assert!(one("import os\nfor n in []:\n    os.remove(n)").is_empty());
    assert!(one("import os\nsizes = {p: os.path.getsize(p) for p in []}").is_empty());
    assert!(one("from pathlib import Path\nfs = [Path('a')]\nnone = [p.read_text() for p in fs if False]").is_empty());
    assert!(one("import os\nx = sorted([], key=os.path.getmtime)").is_empty());
    // A test that depends on what runs keeps both branches.
    assert_eq!(
        one("import os, random\nif random.random() > 0.5:\n    os.remove('x')"),
        ["os.remove"]
    );
}

#[test]
fn constant_arguments_decide_branches_in_helpers() {
    let load = "from pathlib import Path\nCACHE = {}\ndef load(path, cache=True):\n    if cache:\n        return CACHE.get(path, '')\n    return Path(path).read_text()";
    assert!(last(&[load, "cfg = load('a.toml')"]).is_empty());
    assert_eq!(
        last(&[load, "cfg = load('a.toml', cache=False)"]),
        ["pathlib.Path.read_text"]
    );
    let read = "from pathlib import Path\ndef read(p, mode='lazy'):\n    if mode == 'lazy':\n        return Path(p)\n    return Path(p).read_bytes()";
    assert!(last(&[read, "h = read('b.bin')"]).is_empty());
    assert_eq!(
        last(&[read, "h = read('b.bin', mode='eager')"]),
        ["pathlib.Path.read_bytes"]
    );
    let cached = "import requests\ndef users(cache=None):\n    if cache is not None:\n        return cache\n    return requests.get('https://x').json()";
    assert!(last(&[cached, "u = users([{'name': 'ada'}])"]).is_empty());
    assert_eq!(last(&[cached, "u = users()"]), ["requests.get"]);
}

#[test]
fn nothing_after_a_raise_or_return_runs() {
    assert!(one("import os\nraise SystemExit(0)\nos.remove('x')").is_empty());
    // A `raise` in a branch that may not be taken ends nothing.
    let strict = "def strict(p):\n    if not p.endswith('.json'):\n        raise ValueError(p)\n    return open(p).read()";
    assert_eq!(
        last(&[strict, "d = strict('a.json')"]),
        ["open", "io.TextIOWrapper.read"]
    );
    assert!(one("def f():\n    return 1\n    open('x')\nf()").is_empty());
    assert!(one("import time\nfor i in range(3):\n    break\n    time.sleep(1)").is_empty());
}

#[test]
fn tasks_run_when_awaited_and_fstrings_format_user_objects() {
    let coro = "import asyncio, time\nasync def nap_badly():\n    time.sleep(0.2)";
    assert!(last(&[coro, "job = asyncio.create_task(nap_badly())"]).is_empty());
    assert_eq!(
        last(&[coro, "job = asyncio.create_task(nap_badly())\nawait job"]),
        ["time.sleep"]
    );
    let version = "class Version:\n    def __str__(self):\n        return open('VERSION').read().strip()\nversion = Version()";
    assert!(one(version).is_empty());
    assert_eq!(
        last(&[version, "banner = f'app {version}'"]),
        ["open", "io.TextIOWrapper.read"]
    );
    assert!(last(&[version, "banner = f'app {version!r}'"]).is_empty());
}

#[test]
fn a_loop_over_different_functions_calls_each() {
    let steps = "import time\nsteps = [lambda: 'prep', lambda: time.sleep(1), lambda: 'done']";
    assert!(one(steps).is_empty());
    assert_eq!(
        last(&[steps, "outputs = [s() for s in steps]"]),
        ["time.sleep"]
    );
    assert_eq!(last(&[steps, "for s in steps:\n    s()"]), ["time.sleep"]);
    // Iterating without calling runs nothing.
    assert!(last(&[steps, "names = [s.__name__ for s in steps]"]).is_empty());
    assert!(one("steps = [lambda: 'a', lambda: 'b']\nfor s in steps:\n    s()").is_empty());
}
