//! Integration tests of the session namespace against real embedded CPython.

use pyo3::prelude::*;
use pyo3::types::{PyDict, PyModule};
use pyrepl3_namespace::{HISTORY_NAMES, Namespace};

/// Run `src` with the namespace dict as globals and locals, as the executor does.
fn run(py: Python<'_>, ns: &Namespace, src: &str) {
    let builtins = PyModule::import(py, "builtins").unwrap();
    let code = builtins
        .getattr("compile")
        .unwrap()
        .call1((src, "<test>", "exec"))
        .unwrap();
    let d = ns.dict(py);
    builtins
        .getattr("exec")
        .unwrap()
        .call1((code, &d, &d))
        .unwrap();
}

fn eval<'py>(py: Python<'py>, ns: &Namespace, src: &str) -> Bound<'py, PyAny> {
    let d = ns.dict(py);
    PyModule::import(py, "builtins")
        .unwrap()
        .getattr("eval")
        .unwrap()
        .call1((src, &d, &d))
        .unwrap()
}

#[test]
fn one_dict_closures_comprehensions_and_class_bodies_work() {
    Python::attach(|py| {
        let ns = Namespace::new(py).unwrap();
        let before = ns.dict(py).as_ptr();
        run(
            py,
            &ns,
            "y = 3\nclass C:\n    z = [y * i for i in range(3)]\n",
        );
        run(
            py,
            &ns,
            "def f():\n    return [y + i for i in range(2)]\nr = f()",
        );
        assert_eq!(eval(py, &ns, "C.z").to_string(), "[0, 3, 6]");
        assert_eq!(eval(py, &ns, "r").to_string(), "[3, 4]");
        assert_eq!(eval(py, &ns, "__name__").to_string(), "__main__");
        assert!(ns.module(py).dict().is(ns.dict(py)));
        assert_eq!(ns.dict(py).as_ptr(), before, "identity never replaced");
    });
}

#[test]
fn merge_refuses_protected_names() {
    Python::attach(|py| {
        let ns = Namespace::new(py).unwrap();
        let one = 1i32.into_pyobject(py).unwrap().into_any();
        let report = ns
            .merge(
                py,
                vec![
                    ("a".to_string(), one.clone()),
                    ("__builtins__".to_string(), one.clone()),
                    ("_".to_string(), one.clone()),
                ],
            )
            .unwrap();
        assert_eq!(report.merged, ["a"]);
        assert_eq!(report.refused, ["__builtins__", "_"]);
        assert!(eval(py, &ns, "__builtins__").is_instance_of::<PyModule>());
        ns.install(py, "engine", &one).unwrap();
        assert!(ns.is_protected("engine"));
        let report = ns.merge(py, vec![("engine".to_string(), one)]).unwrap();
        assert_eq!(report.refused, ["engine"]);
        assert!(ns.remove(py, "engine").unwrap().is_none());
        assert!(ns.remove(py, "a").unwrap().is_some());
        assert!(ns.get(py, "a").unwrap().is_none());
    });
}

#[test]
fn history_holds_last_three_non_none_results() {
    Python::attach(|py| {
        let ns = Namespace::new(py).unwrap();
        for v in ["1", "None", "2", "3", "None", "4"] {
            let obj = eval(py, &ns, v);
            ns.push_result(py, &obj).unwrap();
        }
        let got: Vec<String> = HISTORY_NAMES
            .iter()
            .map(|n| ns.get(py, n).unwrap().unwrap().to_string())
            .collect();
        assert_eq!(got, ["4", "3", "2"]);
        assert_eq!(ns.history(py).len(), 3);
    });
}

#[test]
fn tracking_by_names_and_full_diff() {
    Python::attach(|py| {
        let ns = Namespace::new(py).unwrap();
        run(py, &ns, "a = 1\nb = [1]\nc = 3");
        let t = ns.track(py, ["a", "b", "c", "d"], false).unwrap();
        run(
            py,
            &ns,
            "a = 2\nb.append(2)\ndel c\nd = 4\nglobals()['hidden'] = 5",
        );
        let ch = t.finish(py, &ns, "execution 1").unwrap();
        assert_eq!(ch.context, "execution 1");
        assert_eq!(ch.added, ["d"]);
        assert_eq!(ch.changed, ["a"], "in-place mutation is not a rebinding");
        assert_eq!(ch.deleted, ["c"]);
        assert!(!ch.full_diff);

        let t = ns.track(py, [], true).unwrap();
        run(py, &ns, "globals()['dyn'] = 1\ndel d");
        let ch = t.finish(py, &ns, "execution 2").unwrap();
        assert_eq!(ch.added, ["dyn"]);
        assert_eq!(ch.deleted, ["d"]);
        assert!(ch.full_diff);
        assert!(!ch.is_empty());
    });
}

#[test]
fn checkpoint_pickles_what_it_can_and_names_the_rest() {
    Python::attach(|py| {
        let ns = Namespace::new(py).unwrap();
        run(
            py,
            &ns,
            "import math as m\nx = {'k': [1, 2]}\ngen = (i for i in range(3))\nlam = lambda: 1",
        );
        ns.push_result(py, &eval(py, &ns, "x")).unwrap();
        let cp = ns.checkpoint(py).unwrap();
        let pickled: Vec<&str> = cp.pickled.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(pickled, ["x"]);
        assert_eq!(cp.modules, [("m".to_string(), "math".to_string())]);
        let bad: Vec<&str> = cp.unpicklable.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(bad, ["gen", "lam"]);
        assert!(
            cp.unpicklable[0].1.contains("generator"),
            "{:?}",
            cp.unpicklable
        );

        let fresh = Namespace::new(py).unwrap();
        let report = fresh.restore(py, &cp).unwrap();
        assert_eq!(report.restored, ["m", "x"]);
        assert_eq!(
            eval(py, &fresh, "(x, m.pi > 3)").to_string(),
            "({'k': [1, 2]}, True)"
        );
    });
}

#[test]
fn usable_from_many_threads() {
    let ns = std::sync::Arc::new(Python::attach(|py| Namespace::new(py).unwrap()));
    let handles: Vec<_> = (0..4i64)
        .map(|t| {
            let ns = ns.clone();
            std::thread::spawn(move || {
                for i in 0..200 {
                    Python::attach(|py| {
                        let v = (t * 1000 + i as i64).into_pyobject(py).unwrap().into_any();
                        ns.merge(py, vec![(format!("t{t}_{i}"), v)]).unwrap();
                    });
                }
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
    Python::attach(|py| {
        let d: Bound<'_, PyDict> = ns.dict(py);
        assert_eq!(
            d.len(),
            800 + 6,
            "800 names + module attributes + __builtins__"
        );
    });
}

#[test]
fn installed_as_main_so_pickle_finds_cell_classes() {
    Python::attach(|py| {
        let ns = Namespace::new(py).unwrap();
        ns.install_as_main(py).unwrap();
        run(
            py,
            &ns,
            "import pickle\nclass P:\n    def __init__(self):\n        self.v = 7\nback = pickle.loads(pickle.dumps(P())).v",
        );
        assert_eq!(eval(py, &ns, "back").to_string(), "7");
        assert_eq!(
            eval(
                py,
                &ns,
                "__import__('__main__') is __import__('sys').modules['__main__']"
            )
            .to_string(),
            "True"
        );
        let cp = ns.checkpoint(py).unwrap();
        assert!(
            cp.pickled.iter().any(|(n, _)| n == "P"),
            "{:?}",
            cp.unpicklable
        );
    });
}
