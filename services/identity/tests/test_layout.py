"""identity's layout: each domain a package with the same four files, and no import cycle between its modules
(a domain's service takes another's as a collaborator; none reaches back)."""
import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DOMAINS = ("accounts", "sessions", "orgs", "workspaces", "invitations", "tokens")


def _imports() -> dict[str, set[str]]:
    """{module: the identity modules it imports} from the source (relative imports resolved)."""
    modules = {}
    for path in ROOT.rglob("*.py"):
        if "tests" in path.relative_to(ROOT).parts:
            continue
        parts = path.relative_to(ROOT).with_suffix("").parts
        modules[".".join(p for p in parts if p != "__init__")] = path
    graph = {}
    for name, path in modules.items():
        package = name.split(".")[:-1] if path.name != "__init__.py" else name.split(".")
        found = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.level:
                base = package[:len(package) - node.level + 1] + ([node.module] if node.module else [])
                target = ".".join(p for p in base if p)
                for alias in node.names:
                    full = f"{target}.{alias.name}".strip(".")
                    found.add(full if full in modules else target)
        graph[name] = {m for m in found if m in modules and m != name}
    return graph


def test_each_domain_has_routes_service_storage_schemas():
    for domain in DOMAINS:
        assert {"routes.py", "service.py", "storage.py", "schemas.py"} <= {p.name for p in (ROOT / domain).iterdir()}


def test_no_import_cycle_between_modules():
    graph = _imports()
    assert graph["orgs.service"] and graph["accounts.service"]   # the reading works
    done, path = set(), []

    def visit(module):
        if module in path:
            raise AssertionError("import cycle: " + " -> ".join(path[path.index(module):] + [module]))
        if module in done:
            return
        path.append(module)
        for dep in sorted(graph[module]):
            visit(dep)
        path.pop()
        done.add(module)

    for module in sorted(graph):
        visit(module)


def test_only_storage_modules_speak_pymongo():
    for path in ROOT.rglob("*.py"):
        if "tests" in path.relative_to(ROOT).parts or path.name == "storage.py":
            continue
        text = path.read_text()
        assert "import pymongo" not in text and "from pymongo" not in text, path
