"""Retrieval evaluation and the calibration of the decline threshold.

``evaluate_retrieval(cases)`` ranks every case with BM25, dense and hybrid side by side and
computes with ``ranx`` Recall@1/3/5, MRR@10 and nDCG@10, where every incident of the case's
category is relevant (so Recall@k is at most k / #incidents of the category, e.g. 0.5 at k=1 for a
category with two incidents), plus top-1 category accuracy and a confusion table
(true category -> top-1 predicted category -> count).

``calibrate_decline`` fits the hit-score model and the decline threshold on our own labelled
queries (``knowledge_base/eval/queries.jsonl`` shipped with the package, in domain) against :data:`UNRELATED_TEXTS`
(plain English, developer chatter and logs that are not failures). Run it with
``python -m autoops.responder.evaluation --calibrate``; it prints the values for
``configs/responder.yaml``. Never calibrate on the held-out development cases.
"""

from __future__ import annotations

import json
import os
import re
import warnings
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any, Iterable, Mapping

import numpy as np

from autoops import paths
from autoops.responder.confidence import expected_calibration_error, fit
from autoops.responder.generators import content_words, sentences, supported_share
from autoops.responder.logtext import redact
from autoops.responder.responder import Responder
from autoops.responder.retrieval import Calibration

METHODS = ("bm25", "dense", "hybrid")
METRICS = ("recall@1", "recall@3", "recall@5", "mrr@10", "ndcg@10")


def own_queries() -> Path:
    """Our own labelled queries, shipped with the knowledge base (never the held-out dev cases)."""
    return paths.knowledge_base_dir() / "eval" / "queries.jsonl"


def public_cases(half: str = "all") -> list[dict[str, Any]]:
    """Real failure logs copied from public issue threads (``knowledge_base/eval/public/*.jsonl``,
    each with its source and accepted fix). ``half``: "odd" (ids ending in an odd number: used to
    write patterns and fit the confidence), "even" (held out: only ever evaluated) or "all"."""
    rows = [row for path in sorted((paths.knowledge_base_dir() / "eval" / "public").glob("*.jsonl")) for row in read_cases(path)]
    if half == "all":
        return rows
    parity = {"odd": 1, "even": 0}[half]
    return [row for row in rows if int(re.search(r"(\d+)$", row["id"]).group(1)) % 2 == parity]


def default_case_files() -> dict[str, Path]:
    """Name -> labelled cases to evaluate on: our own queries, plus the team's held-out development
    cases when the checkout has the team's ``shared/`` folder beside it (they are not shipped)."""
    files = {"our queries": own_queries()}
    root = paths.project_root()
    dev_cases = root.parent / "shared" / "responder_dev_cases.jsonl" if root is not None else None
    if dev_cases is not None and dev_cases.is_file():
        files["dev cases"] = dev_cases
    return files


# Negatives for the decline calibration: none of them is a CI/ops failure. (The tests check the
# decline on other sentences, so they do not merely replay the calibration.)
UNRELATED_TEXTS: tuple[str, ...] = (
    # plain English
    "Could you send me the slides from yesterday's quarterly planning meeting?",
    "The recipe calls for two cups of flour, a pinch of salt and three eggs.",
    "We are going hiking in the mountains this weekend if the weather holds.",
    "Please remember to water the plants on the balcony while I am away.",
    "The museum reopens next month with a new exhibition on medieval maps.",
    "My daughter's football team won the regional championship on Sunday.",
    "What is the best way to learn to play the piano as an adult?",
    "The train to Amsterdam was delayed by twenty minutes because of a signal fault.",
    "Happy birthday! I hope you have a wonderful day with your family.",
    "The library will be closed on Monday for the public holiday.",
    "Our new office has a great view of the river and a small kitchen.",
    "Can you recommend a good science fiction novel for a long flight?",
    "The committee approved the budget for the community garden project.",
    "I think the blue curtains would look better in the living room.",
    "The quarterly sales figures were higher than expected in the northern region.",
    "Let's grab lunch at the Thai place around the corner on Thursday.",
    "The cat knocked a glass of water off the table again this morning.",
    "Photosynthesis converts light energy into chemical energy stored in glucose.",
    "The concert was sold out, so we watched the live stream at home.",
    "Remember to bring your passport and the printed tickets to the airport.",
    # developer text that is not a failure
    "How do I write a list comprehension that filters out empty strings in Python?",
    "We should rename the utils module and add docstrings to the public functions.",
    "The design review for the new onboarding screens is scheduled for Friday.",
    "Please update the changelog before tagging the next minor release.",
    # logs and tool output that are not failures
    '192.168.1.23 - - [10/Oct/2024:13:55:36 +0000] "GET /index.html HTTP/1.1" 200 2326 "-" "Mozilla/5.0"',
    '10.0.0.7 - - [10/Oct/2024:13:55:40 +0000] "POST /api/cart/items HTTP/1.1" 201 512 "-" "okhttp/4.12.0"',
    "Oct 10 06:25:01 web01 CRON[23114]: (root) CMD (test -x /usr/sbin/anacron || run-parts --report /etc/cron.daily)",
    "Oct 10 06:25:03 web01 systemd[1]: Started Daily apt upgrade and clean activities.",
    "INFO  [main] com.acme.shop.Application: Started Application in 4.213 seconds (JVM running for 4.9)",
    "2024-10-10 12:00:01,234 INFO  user 4711 logged in from the mobile app, session created",
    "> Task :app:test\n\nBUILD SUCCESSFUL in 2m 11s\n48 actionable tasks: 48 executed",
    "============================= 212 passed in 14.02s =============================",
    "added 1342 packages, and audited 1343 packages in 21s\n\n187 packages are looking for funding\n"
    "  run `npm fund` for details\n\nfound 0 vulnerabilities",
    "Successfully built 3f2a1c9d8e7b\nSuccessfully tagged shop-web:1.4.2",
    "Deployment 'checkout' successfully rolled out: 3 of 3 updated replicas are available.",
    "Your branch is up to date with 'origin/main'.\nnothing to commit, working tree clean",
    "SELECT customer_id, SUM(amount) FROM orders WHERE created_at > now() - interval '7 days' GROUP BY customer_id;",
    "def add(a, b):\n    return a + b\n\nprint(add(2, 3))",
    "Weather report: sunny with light winds, highs of 24 degrees, low chance of rain tomorrow.",
    "Invoice 2024-118: 3 hours of consulting at 120 EUR per hour, due within 30 days.",
)


class CasesError(ValueError):
    """A cases file or record is unusable; the message names the line."""


def read_cases(path: str | os.PathLike) -> list[dict[str, Any]]:
    """Read JSONL cases (``text`` and ``category`` per line; blank lines skipped)."""
    path = Path(path)
    if not path.is_file():
        raise CasesError(f"{path}: file not found")
    cases = []
    with path.open(encoding="utf-8") as fh:
        for number, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as err:
                raise CasesError(f"{path}:{number}: invalid JSON: {err.msg}") from None
            problem = _case_problem(record)
            if problem:
                raise CasesError(f"{path}:{number}: {problem}")
            record.setdefault("id", f"line{number}")
            cases.append(record)
    if not cases:
        raise CasesError(f"{path}: no cases")
    return cases


def _case_problem(record: Any) -> str | None:
    if not isinstance(record, dict):
        return "expected a JSON object with `text` and `category`"
    for key in ("text", "category"):
        if not isinstance(record.get(key), str) or not record[key].strip():
            return f"`{key}` must be a non-empty string"
    return None


def evaluate_retrieval(
    cases: Iterable[Mapping[str, Any]], responder=None, methods: tuple[str, ...] = METHODS
) -> dict[str, Any]:
    """Metrics per method for labelled cases (mappings with ``text`` and ``category``).

    Returns ``{"n": .., "methods": {method: {metric: value, ..., "top1_accuracy": ..}},
    "confusion": {method: {true: {predicted: count}}}, "failures": {method: [..]}}``."""
    from numba.core.errors import NumbaTypeSafetyWarning
    from ranx import Qrels, Run, evaluate

    if responder is None:
        responder = Responder.from_config()
    kb = responder.kb
    by_category: dict[str, list[str]] = defaultdict(list)
    for inc in kb.incidents:
        by_category[inc.category].append(inc.id)
    cases = list(cases)
    if not cases:
        raise CasesError("no cases to evaluate")
    qrels: dict[str, dict[str, int]] = {}
    runs: dict[str, dict[str, dict[str, float]]] = {m: {} for m in methods}
    correct: dict[str, int] = Counter()
    confusion: dict[str, dict[str, Counter]] = {m: defaultdict(Counter) for m in methods}
    failures: dict[str, list[dict[str, Any]]] = {m: [] for m in methods}
    for i, case in enumerate(cases):
        problem = _case_problem(case)
        if problem:
            raise CasesError(f"case {i + 1}: {problem}")
        category = case["category"]
        if category not in kb.taxonomy.categories:
            raise CasesError(f"case {i + 1}: unknown category {category!r}")
        qid = f"q{i}"
        # A category without incidents has nothing relevant; ranx needs one judged document.
        qrels[qid] = {doc: 1 for doc in by_category.get(category, [])} or {"<none>": 0}
        ranking = responder.rank(case["text"])
        for method in methods:
            ranked = ranking.method(method)[:10]
            # scores from ranks, so ranx orders exactly as we do
            runs[method][qid] = {doc: float(10 - r) for r, (doc, _) in enumerate(ranked)}
            predicted = kb[ranked[0][0]].category if ranked else "(none)"
            confusion[method][category][predicted] += 1
            if predicted == category:
                correct[method] += 1
            else:
                failures[method].append({"id": case.get("id", qid), "category": category, "predicted": predicted})
    qrels_obj = Qrels(qrels)
    result: dict[str, Any] = {"n": len(cases), "methods": {}, "confusion": {}, "failures": failures}
    for method in methods:
        run = {q: (docs or {"<empty>": 0.0}) for q, docs in runs[method].items()}
        with warnings.catch_warnings():
            # ranx's Numba kernels cast uint64 to int64 when first compiled ("Precision may be lost"):
            # harmless for counts of ten documents, and red noise in every notebook of a fresh install.
            warnings.simplefilter("ignore", NumbaTypeSafetyWarning)
            scores = evaluate(qrels_obj, Run(run), list(METRICS), make_comparable=True)
        row = {m: float(scores[m]) for m in METRICS}
        row["top1_accuracy"] = correct[method] / len(cases)
        result["methods"][method] = row
        result["confusion"][method] = {t: dict(c) for t, c in sorted(confusion[method].items())}
    return result


# --------------------------------------------------------------------------- generation


def rouge_l(candidate: str, reference: str) -> float:
    """ROUGE-L F1 over lower-cased word tokens (longest common subsequence)."""
    a, b = re.findall(r"\w+", candidate.lower()), re.findall(r"\w+", reference.lower())
    if not a or not b:
        return 0.0
    previous = [0] * (len(b) + 1)
    for x in a:
        current = [0]
        for j, y in enumerate(b):
            current.append(previous[j] + 1 if x == y else max(previous[j + 1], current[j]))
        previous = current
    lcs = previous[-1]
    if lcs == 0:
        return 0.0
    precision, recall = lcs / len(a), lcs / len(b)
    return 2 * precision * recall / (precision + recall)


def keyword_coverage(text: str, keywords: Iterable[str]) -> float:
    """Share of a category's fix keywords that the text touches (most of a keyword's words present)."""
    words = content_words(text) | set(re.findall(r"\w+", text.lower()))
    keywords = list(keywords)
    hits = 0
    for keyword in keywords:
        wanted = set(re.findall(r"\w+", keyword.lower()))
        hits += bool(wanted) and len(wanted & words) >= 0.5 * len(wanted)
    return hits / len(keywords) if keywords else float("nan")


def incident_text(incident) -> str:
    """Everything an incident says: its sections, its causes and their actions (what an answer may be supported by)."""
    causes = "\n".join(f"{c.text}\n" + "\n".join(c.actions) for c in incident.causes)
    return "\n".join([incident.symptoms, incident.root_cause, incident.fix, causes])


def evaluate_generation(cases: Iterable[Mapping[str, Any]], responder, generator: str) -> dict[str, Any]:
    """Suggestions of ``generator`` for labelled cases: ROUGE-L against the reference fix (the case's
    ``fix_note`` if it has one, else the best-matching Fix of an incident of its category),
    coverage of the category's ``fix_keywords``, share of sentences supported by the retrieved
    incidents, decline and fallback rates, and latency p50/p95."""
    kb = responder.kb
    rows = []
    for case in cases:
        s = responder.suggest(case["text"], generator=generator)
        answer = "\n".join([s.summary, s.root_cause, *s.fix_steps])
        category = case["category"]
        references = [case["fix_note"]] if case.get("fix_note") else [inc.fix for inc in kb.incidents if inc.category == category]
        context = "\n".join(incident_text(kb[h.incident_id]) for h in s.hits[:2]) + "\n" + case["text"]
        taxonomy = kb.taxonomy.categories.get(category)
        rows.append({
            "declined": s.declined,
            "fallback": s.fallback_reason.split(":")[0] if s.fallback_reason else None,
            "generator": s.generator,
            "rouge_l": None if s.declined else max((rouge_l(answer, ref) for ref in references), default=0.0),
            "keyword_coverage": None if s.declined else keyword_coverage(answer, taxonomy.fix_keywords if taxonomy else []),
            "supported": None if s.declined else supported_share(sentences(answer), context),
            "latency_ms": s.latency_ms,
        })
    answered = [r for r in rows if not r["declined"]]

    def mean(key):
        values = [r[key] for r in answered if r[key] is not None and not np.isnan(r[key])]
        return float(np.mean(values)) if values else float("nan")

    latency = np.array([r["latency_ms"] for r in rows])
    return {
        "n": len(rows),
        "generator": generator,
        "rouge_l": mean("rouge_l"),
        "keyword_coverage": mean("keyword_coverage"),
        "supported_share": mean("supported"),
        "decline_rate": sum(r["declined"] for r in rows) / len(rows),
        "fallback_rate": sum(r["fallback"] is not None for r in rows) / len(rows),
        "fallback_reasons": dict(Counter(r["fallback"] for r in rows if r["fallback"])),
        "latency_ms_p50": float(np.percentile(latency, 50)),
        "latency_ms_p95": float(np.percentile(latency, 95)),
    }


# --------------------------------------------------------------------------- answer quality

# what a log can name that an answer should repeat: package@version, image:tag, versions, hosts,
# paths, exit codes, quoted names (used when a case does not list its own ``specifics``)
_SPECIFIC = re.compile(
    r"(?:@?[\w.-]+/)?[\w.-]+@\^?~?\d[\w.+-]*"          # package@version
    r"|[\w./-]+:\d[\w.-]*(?![\w:])"                    # image:tag, host:port
    r"|\b\d+\.\d+(?:\.\d+)+\b"                         # a version
    r"|\b(?:[a-z0-9-]+\.)+(?:com|io|org|net|dev|internal|local|cloud)\b"  # a host
    r"|(?:/[\w.-]+){2,}"                                # a path
    r"|\bexit(?:ed)?(?: with)?(?: code| status)? \d{1,3}\b"   # an exit code
)
_TIME = re.compile(r"\d{1,2}:\d\d(?::\d\d)?|\d{4}-\d\d-\d\d")  # a time stamp is not a name
PLACEHOLDER_WORDS = ("example.com", "myorg", "my-org", "<your", "your-")
MAX_SUMMARY_CHARS = 160


def specifics_of(case: Mapping[str, Any]) -> list[str]:
    """What the case's log names that a good answer should repeat: its own ``specifics``, else
    names found in the log (versions, image tags, hosts, paths, exit codes)."""
    if case.get("specifics") is not None:
        return [s for s in case["specifics"] if s]
    found = (m.strip(".,;:'\"") for m in _SPECIFIC.findall(redact(case["text"])))
    return list(dict.fromkeys(m for m in found if not _TIME.search(m)))[:12]


def format_problems(s) -> list[str]:
    """What makes an answer hard to read or act on (empty list: none)."""
    problems = []
    if len(s.summary) > MAX_SUMMARY_CHARS:
        problems.append("summary over 160 characters")
    if s.summary.rstrip().endswith(".)"):
        problems.append("summary ends in '.)'")
    if len(s.fix_steps) > 3:
        problems.append("more than three actions")
    if any(step.rstrip().endswith(":") for step in s.fix_steps):
        problems.append("an action ends in ':'")
    if any("\n" in step for step in s.fix_steps):
        problems.append("an action spans several lines")
    text = " ".join([s.summary, *s.fix_steps]).lower()
    if any(word in text for word in PLACEHOLDER_WORDS):
        problems.append("a placeholder (example.com, myorg...)")
    return problems


def evaluate_answers(cases: Iterable[Mapping[str, Any]], responder, generator: str, judge=None) -> dict[str, Any]:
    """How well ``generator``'s answers fit the logs: the share that name something specific from
    the log in the summary or the first three actions (of the cases whose log names anything),
    fix-keyword coverage, the share with evidence lines, the format checks, category accuracy,
    declines and latency p50/p95; with ``judge`` (a model with ``generate(system, user)``, e.g.
    the ``openai`` backend) the share it judges to contain the accepted fix or an equally
    specific correct one (cases with a ``fix_note``), as HolmesGPT scores its evals."""
    rows = []
    for case in cases:
        s = responder.suggest(case["text"], generator=generator)
        specifics = specifics_of(case)
        shown = " ".join([s.summary, *s.fix_steps]).lower()
        taxonomy = responder.kb.taxonomy.categories.get(case["category"])
        row = {
            "id": case.get("id"), "declined": s.declined, "correct": s.category == case["category"],
            "confidence": s.confidence, "latency_ms": s.latency_ms, "fallback": bool(s.fallback_reason),
            "has_specifics": bool(specifics), "specific": any(x.lower() in shown for x in specifics),
            "evidence": bool(s.evidence), "problems": format_problems(s) if not s.declined else [],
            "keyword_coverage": keyword_coverage(" ".join([s.summary, s.root_cause, *s.fix_steps]),
                                                 taxonomy.fix_keywords if taxonomy else []),
        }
        if judge is not None and case.get("fix_note") and not s.declined:
            row["judged_fix"] = judge_answer(judge, case, s)
        rows.append(row)
    answered = [r for r in rows if not r["declined"]]
    with_names = [r for r in answered if r["has_specifics"]]
    latency = np.array([r["latency_ms"] for r in rows])
    judged = [r["judged_fix"] for r in answered if "judged_fix" in r]
    problems = Counter(p for r in answered for p in r["problems"])
    return {
        "n": len(rows), "generator": generator,
        "top1_accuracy": sum(r["correct"] for r in rows) / len(rows),
        "declined": sum(r["declined"] for r in rows) / len(rows),
        "fell_back": sum(r["fallback"] for r in rows) / len(rows),
        "names_something_specific": (sum(r["specific"] for r in with_names) / len(with_names)) if with_names else float("nan"),
        "n_with_specifics": len(with_names),
        "with_evidence_lines": (sum(r["evidence"] for r in answered) / len(answered)) if answered else float("nan"),
        "format_ok": (sum(not r["problems"] for r in answered) / len(answered)) if answered else float("nan"),
        "format_problems": dict(problems),
        "keyword_coverage": float(np.nanmean([r["keyword_coverage"] for r in answered])) if answered else float("nan"),
        "judged_fix_present": (sum(judged) / len(judged)) if judged else None,
        "latency_ms_p50": float(np.percentile(latency, 50)), "latency_ms_p95": float(np.percentile(latency, 95)),
        "rows": rows,
    }


JUDGE_PROMPT = ("You grade answers of an incident responder. Reply with exactly YES or NO: does the answer contain the "
                "accepted fix, or an equally specific and correct fix, for this log?")


def judge_answer(judge, case: Mapping[str, Any], suggestion) -> bool:
    """One binary judgement by an LLM (the log, the accepted fix, the answer's summary and actions)."""
    answer = "\n".join([suggestion.summary, *(f"{i}. {step}" for i, step in enumerate(suggestion.fix_steps, 1))])
    user = f"Log:\n{redact(case['text'])[:3000]}\n\nAccepted fix:\n{case['fix_note']}\n\nAnswer:\n{answer}\n\nYES or NO?"
    reply = judge.generate(JUDGE_PROMPT, user, max_new_tokens=4).text.strip().upper()
    return reply.startswith("YES")


# --------------------------------------------------------------------------- decline calibration


def score_features(responder, texts: Iterable[str]) -> np.ndarray:
    """(best cosine, log1p(best BM25), failure words) per text: the inputs of the hit-score model."""
    rows = []
    for text in texts:
        ranking = responder.rank(text)
        rows.append((ranking.best_cosine, float(np.log1p(ranking.best_bm25)), ranking.failure_words))
    return np.array(rows)


MAX_DECLINED = 0.03  # the share of in-domain queries a user accepts to see declined (issue 12)


def calibrate_decline(responder=None, cases: list[Mapping[str, Any]] | None = None,
                      unrelated: Iterable[str] = UNRELATED_TEXTS) -> dict[str, Any]:
    """Fit ``evidence = sigmoid(intercept + w_cosine * cos + w_bm25 * log1p(bm25) + w_failure * f)`` by logistic
    regression (L2, C=1, balanced classes) with in-domain ``cases`` (default: our own labelled
    queries) as positives and ``unrelated`` texts as negatives; then choose the threshold: just
    above the best-scored unrelated text (none accepted) when that declines at most
    ``MAX_DECLINED`` of the in-domain cases, else the one that maximises Youden's J (accepted
    in-domain share minus accepted unrelated share), the midpoint of the best interval. Returns
    the values and the acceptance rates."""
    from sklearn.linear_model import LogisticRegression

    if responder is None:
        responder = Responder.from_config()
    cases = cases if cases is not None else read_cases(own_queries())
    positives = score_features(responder, [c["text"] for c in cases])
    negatives = score_features(responder, list(unrelated))
    x = np.vstack([positives, negatives])
    y = np.r_[np.ones(len(positives)), np.zeros(len(negatives))]
    model = LogisticRegression(C=1.0, class_weight="balanced").fit(x, y)
    cal = Calibration(float(model.intercept_[0]), *(float(w) for w in model.coef_[0]))
    pos = np.array([cal.evidence(c, float(np.expm1(b)), f) for c, b, f in positives])
    neg = np.array([cal.evidence(c, float(np.expm1(b)), f) for c, b, f in negatives])
    candidates = np.unique(np.r_[pos, neg, 0.0, 1.0])
    best_j, best_lo, best_hi = -1.0, 0.0, 1.0
    for lo, hi in zip(candidates[:-1], candidates[1:]):
        threshold = hi  # accept score >= threshold
        j = float(np.mean(pos >= threshold) - np.mean(neg >= threshold))
        if j > best_j + 1e-12:
            best_j, best_lo, best_hi = j, lo, hi
    threshold = round((best_lo + best_hi) / 2, 3)
    above_unrelated = float(np.ceil((neg.max() + 0.005) * 1000) / 1000)  # the next 0.001 past a 0.005 margin
    if np.mean(pos < above_unrelated) <= MAX_DECLINED:
        threshold = max(threshold, above_unrelated)
    return {
        "calibration": {"intercept": round(cal.intercept, 3), "w_cosine": round(cal.w_cosine, 3),
                        "w_bm25": round(cal.w_bm25, 3), "w_failure": round(cal.w_failure, 3),
                        "model": responder.retriever.model_name},
        "decline_threshold": threshold,
        "in_domain_accepted": float(np.mean(pos >= threshold)),
        "unrelated_accepted": float(np.mean(neg >= threshold)),
        "n_in_domain": len(pos),
        "n_unrelated": len(neg),
        "youden_j": float(np.mean(pos >= threshold) - np.mean(neg >= threshold)),
    }


def confidence_rows(responder, cases: Iterable[Mapping[str, Any]]) -> tuple[list[dict], list[bool]]:
    """The confidence model's inputs for each in-domain case, and whether the top category was right."""
    rows, correct = [], []
    for case in cases:
        clean = redact(case["text"])
        ranking = responder.retriever.rank(clean)
        rows.append(responder.confidence_features(ranking, clean))
        correct.append(bool(ranking.hybrid) and responder.kb[ranking.hybrid[0][0]].category == case["category"])
    return rows, correct


def calibrate_confidence(responder, fit_cases: list[Mapping[str, Any]], test_cases: list[Mapping[str, Any]]) -> dict[str, Any]:
    """Fit the confidence model on ``fit_cases`` and measure its calibration on ``test_cases``
    (expected calibration error over ten bins, and the reliability table)."""
    x, y = confidence_rows(responder, fit_cases)
    model = fit(x, y)
    test_x, test_y = confidence_rows(responder, test_cases)
    probabilities = [model.probability(row) for row in test_x]
    ece, table = expected_calibration_error(probabilities, test_y)
    return {"confidence": model.as_config(), "n_fit": len(x), "n_test": len(test_x),
            "test_accuracy": sum(test_y) / len(test_y), "test_mean_confidence": float(np.mean(probabilities)),
            "ece": round(ece, 4), "reliability": table}


def _main() -> None:  # pragma: no cover - a maintenance command
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calibrate", action="store_true", help="fit the decline calibration")
    parser.add_argument("--calibrate-confidence", action="store_true",
                        help="fit the confidence model on our queries and the odd public cases, measure it on the even ones")
    parser.add_argument("--cases", default=str(own_queries()), help="labelled cases (JSONL)")
    args = parser.parse_args()
    responder = Responder.from_config()
    if args.calibrate_confidence:
        fit_cases = read_cases(own_queries()) + public_cases("odd")
        print(json.dumps(calibrate_confidence(responder, fit_cases, public_cases("even")), indent=1))
    elif args.calibrate:
        print(json.dumps(calibrate_decline(responder, read_cases(args.cases)), indent=1))
    else:
        result = evaluate_retrieval(read_cases(args.cases), responder)
        print(json.dumps({"n": result["n"], "methods": result["methods"]}, indent=1))


if __name__ == "__main__":  # pragma: no cover
    _main()
