"""The item registry: every handout item is a plain function registered with its id.

    @item("1.1f", "Latent space of the test set", needs=("1.1e",), config=())
    def latent_space(ctx):
        vae = ctx.input("1.1e").model("vae")
        ...

`needs` names other items whose outputs this one reads (through ctx.input);
`config` names the settings sections it reads (its fingerprint covers exactly
those, so changing another section never recomputes it). The runner wires the
rest: data, seed, output folder, progress.
"""
from __future__ import annotations

import importlib
import inspect
import pkgutil
import re
import sys
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any, Callable

from harness.code_graph import CodeGraph, project_graph
from harness.errors import RegistryError

# What the faces (the panel, the report) show of an item beyond its own page. An item takes a role
# with @item(shows=...); a face asks the registry which item has a role, never names an id.
ROLES = {
    "vae_explorer": "saves the 2-D VAE (model 'vae', or 'encoder' and 'decoder') that the VAE explorer loads",
    "gan_explorer": "saves the generator (model 'gan' or 'generator') and its noise law (value 'noise') "
                    "that the GAN explorer loads",
    "vae_samples": "its first figure is the VAE's headline grid of samples",
    "gan_samples": "its first figure is the GAN's headline grid of samples",
    "gan_improved": "saves the generator (model 'generator') of its best change to the GAN and values 'best' and "
                    "'variants' (each variant's settings changes) that the submission notebook loads",
    "comparison": "compares every generative model of the run",
    "evaluator": "trains the classifier every model is scored with (FID-MNIST, coverage)",
}
ITEM_ID = re.compile(r"^[0-9A-Za-z][0-9A-Za-z._-]*$")


@dataclass(frozen=True)
class Item:
    id: str
    title: str
    section: str
    fn: Callable
    needs: tuple[str, ...] = ()
    config: tuple[str, ...] = ()
    uses_data: bool = True
    order: int = 0
    extra_code: tuple[str, ...] = field(default=())
    shows: tuple[str, ...] = ()  # roles from ROLES
    units: "Units | None" = None  # independent pieces of work the runner schedules apart (see Units)

    @property
    def module(self) -> ModuleType:
        return sys.modules[self.fn.__module__]

    @property
    def module_name(self) -> str:
        return self.fn.__module__

    @property
    def source_file(self) -> str:
        """The file that defines the item (its answers live beside it, in answers/<lang>/)."""
        return self.module.__file__

    def code_modules(self, graph: "CodeGraph | None" = None) -> list[str]:
        """Every project module the item's execution can import (harness.code_graph): its module's
        imports, transitively, including imports inside functions, and the modules of extra_code."""
        return (graph or project_graph()).closure([self.module_name, *self.extra_code])

    def code_digest(self, graph: "CodeGraph | None" = None) -> str:
        return (graph or project_graph()).digest([self.module_name, *self.extra_code])

    def source(self) -> str:
        return inspect.getsource(self.fn)

    def code_listing(self) -> list[dict[str, str]]:
        """The item function, then the project functions and classes it calls by name
        (the model code), as source text: the report shows the code that ran.

        What a listed function or class of another project module (the models, the
        training loop) uses from its own module is listed too, transitively: the VAE's
        train_step lives in a class that build_vae only names, and a reader of the
        notebook needs it."""
        seen: set[str] = set()
        listing = _listing_of(self.fn, seen)
        if self.units is not None:  # what its units ran (the trainings) is the item's code too
            listing += [entry for fn in (self.units.plan, self.units.fn) if fn.__name__ not in seen
                        for entry in _listing_of(fn, seen)]
        return listing


def _listing_of(fn: Callable, seen: set[str]) -> list[dict[str, str]]:
    """Item.code_listing for one function: it, then what it names, transitively; `seen` grows."""
    listing = [{"name": fn.__name__, "module": fn.__module__, "source": inspect.getsource(fn)}]
    seen.add(fn.__name__)
    queue = []
    names = _names_used(fn.__code__)
    # `models.build_encoder(...)` names a module then an attribute: look in both.
    top = fn.__module__.split(".")[0]
    modules = [v for n in names if inspect.ismodule(v := fn.__globals__.get(n))
               and (v.__name__.startswith("experiments") or v.__name__.split(".")[0] == top)]
    for name in names:
        value = fn.__globals__.get(name)
        for mod in modules:
            value = value if value is not None else getattr(mod, name, None)
        if name in seen or value is None or not (inspect.isfunction(value) or inspect.isclass(value)):
            continue
        module = getattr(value, "__module__", "") or ""
        if module.startswith("experiments") or module.split(".")[0] == top:
            try:
                listing.append({"name": name, "module": module, "source": inspect.getsource(value)})
                seen.add(name)
                if module != fn.__module__:
                    queue.append(value)
            except (OSError, TypeError):
                pass
    while queue:  # what the shared code uses from its own module
        owner = queue.pop(0)
        home = sys.modules.get(owner.__module__)
        for name in _names_of(owner):
            value = getattr(home, name, None)
            if name in seen or not (inspect.isfunction(value) or inspect.isclass(value)) \
                    or getattr(value, "__module__", None) != owner.__module__:
                continue
            try:
                listing.append({"name": name, "module": owner.__module__, "source": inspect.getsource(value)})
            except (OSError, TypeError):
                continue
            seen.add(name)
            queue.append(value)
    return listing


def _names_of(value) -> list[str]:
    """Global names a function or class (its bases, methods and properties) refers to."""
    if inspect.isfunction(value):
        return _names_used(value.__code__)
    names = [b.__name__ for b in value.__bases__]
    for attr in vars(value).values():
        attr = getattr(attr, "fget", None) or getattr(attr, "__func__", None) or attr
        if inspect.isfunction(attr):
            names += _names_used(attr.__code__)
    return list(dict.fromkeys(names))


def _names_used(code) -> list[str]:
    """Global names a function's code refers to, nested functions included, in first-use order."""
    names = list(code.co_names)
    for const in code.co_consts:
        if inspect.iscode(const):
            names.extend(_names_used(const))
    return list(dict.fromkeys(names))


@dataclass(frozen=True)
class Units:
    """An item's independent pieces of work (each training of a sweep, each seed of a comparison),
    which the runner computes, caches and schedules one by one, in worker processes side by side,
    before the item gathers them with ctx.unit(key).

    `plan(settings)` names the units from the item's settings sections ({section: values}):
    {key: params}, params JSON values; `fn(ctx, **params)` computes one unit into ctx as an item
    computes itself. A unit reads only `config` and `needs`, a part of its item's: so the item's
    fingerprint covers every unit's, while a unit's cache survives a change to the sections it
    does not read (one more point in a sweep leaves the others cached). Both functions live at
    module level: worker processes receive them pickled by name."""

    plan: Callable[[dict[str, Any]], dict[str, dict[str, Any]]]
    fn: Callable
    needs: tuple[str, ...] = ()
    config: tuple[str, ...] = ()


class Registry:
    def __init__(self) -> None:
        self.items: dict[str, Item] = {}

    def item(
        self,
        item_id: str,
        title: str,
        *,
        needs: tuple[str, ...] | list[str] = (),
        config: tuple[str, ...] | list[str] = (),
        section: str | None = None,
        uses_data: bool = True,
        extra_code: tuple[str, ...] = (),
        shows: tuple[str, ...] = (),
        units: Units | None = None,
    ) -> Callable[[Callable], Callable]:
        if not ITEM_ID.match(item_id):
            raise RegistryError(f"item id '{item_id}' is not valid: use letters, digits, '.', '-' or '_'")
        for role in shows:
            if role not in ROLES:
                raise RegistryError(f"item '{item_id}': unknown role '{role}' in shows=; known roles are "
                                    f"{', '.join(ROLES)}")
        if units is not None:
            _check_units(item_id, units, tuple(needs), tuple(config))

        def register(fn: Callable) -> Callable:
            if item_id in self.items and self.items[item_id].fn.__qualname__ != fn.__qualname__:
                raise RegistryError(f"item '{item_id}' is registered twice ({self.items[item_id].fn.__module__} and {fn.__module__})")
            sec = section or _default_section(item_id)
            self.items[item_id] = Item(
                id=item_id, title=title, section=sec, fn=fn, needs=tuple(needs), config=tuple(config),
                uses_data=uses_data, order=len(self.items), extra_code=tuple(extra_code), shows=tuple(shows),
                units=units,
            )
            return fn

        return register

    def get(self, item_id: str) -> Item:
        if item_id not in self.items:
            known = ", ".join(self.ordered_ids()) or "none"
            raise RegistryError(f"unknown item '{item_id}': known items are {known}")
        return self.items[item_id]

    def showing(self, role: str) -> str | None:
        """The id of the item that has `role` (ROLES), or None if no registered item has it."""
        return next((it.id for it in self.items.values() if role in it.shows), None)

    def ordered_ids(self) -> list[str]:
        return [it.id for it in sorted(self.items.values(), key=lambda it: (_handout_key(it.id), it.order))]

    def closure(self, requested: list[str] | None) -> list[str]:
        """The requested items and everything they need, dependencies first, in handout order."""
        wanted = self.ordered_ids() if not requested else list(dict.fromkeys(requested))
        for item_id in wanted:
            self.get(item_id)
        needed: set[str] = set()
        visiting: list[str] = []

        def visit(item_id: str) -> None:
            if item_id in needed:
                return
            if item_id in visiting:
                cycle = " -> ".join(visiting[visiting.index(item_id):] + [item_id])
                raise RegistryError(f"items depend on each other in a cycle: {cycle}")
            visiting.append(item_id)
            for dep in self.get(item_id).needs:
                if dep not in self.items:
                    raise RegistryError(f"item '{item_id}' needs '{dep}', which is not registered")
                visit(dep)
            visiting.pop()
            needed.add(item_id)

        for item_id in wanted:
            visit(item_id)
        # Among the items whose inputs are ready, always run the earliest in the handout.
        handout = [i for i in self.ordered_ids() if i in needed]
        order: list[str] = []
        while handout:
            ready = next(i for i in handout if all(d in order for d in self.items[i].needs))
            order.append(ready)
            handout.remove(ready)
        return order

    def dependents(self, item_id: str) -> list[str]:
        out = [i for i in self.ordered_ids() if item_id in self.closure([i]) and i != item_id]
        return out


def _check_units(item_id: str, units: Units, needs: tuple[str, ...], config: tuple[str, ...]) -> None:
    """A unit reads a part of what its item reads, so that the item's fingerprint covers the unit's."""
    for what, wanted, declared in (("needs", units.needs, needs), ("config", units.config, config)):
        extra = sorted(set(wanted) - set(declared))
        if extra:
            raise RegistryError(f"item '{item_id}': its units' {what}= has {', '.join(extra)}, which the item's "
                                f"own {what}= lacks; add them to the item")


def _default_section(item_id: str) -> str:
    """'1.1f' -> '1.1' (the handout's section); 'eval.compare' -> 'eval'."""
    m = re.match(r"^(\d+\.\d+)[a-z]$", item_id)
    return m.group(1) if m else item_id.split(".", 1)[0]


def _handout_key(item_id: str) -> tuple:
    """'1.1a' < '1.1b' < '1.2a'; ids that aren't handout items sort by their text after those."""
    m = re.match(r"^(\d+)\.(\d+)([a-z]?)$", item_id)
    return (0, int(m.group(1)), int(m.group(2)), m.group(3)) if m else (1, 0, 0, item_id)


REGISTRY = Registry()
item = REGISTRY.item


IMPORT_ERRORS: dict[str, str] = {}


def discover(package: str = "experiments") -> Registry:
    """Import every module under `experiments` so their @item decorators run.

    A module that fails to import loses its items, not the whole harness: the
    error is kept in IMPORT_ERRORS and printed, and the other items still run.
    """
    pkg = importlib.import_module(package)
    for info in pkgutil.walk_packages(pkg.__path__, prefix=f"{package}.", onerror=lambda name: None):
        if ".answers" in info.name or info.name in sys.modules:
            continue
        try:
            importlib.import_module(info.name)
        except Exception as exc:  # a syntax error in one item file must not hide the other 17
            IMPORT_ERRORS[info.name] = f"{type(exc).__name__}: {exc}".splitlines()[0]
            print(f"harness: warning: cannot import {info.name} ({IMPORT_ERRORS[info.name]}); its items are missing",
                  file=sys.stderr)
    return REGISTRY
