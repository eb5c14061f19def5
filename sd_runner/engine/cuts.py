"""A variant of a model in which chosen causal links can be cut at run time.

Cutting the link ``source -> target`` makes ``target``'s equation see ``source`` held at its
value at INITIAL TIME, element by element, while every other equation still sees ``source``
move. The variant is PySD's abstract model of the ``.mdl`` with, for each link, two added
elements, a switch constant (0, the default: the link is intact) and ``source``'s initial
value, and every reference to ``source`` in ``target``'s equation replaced by
``IF THEN ELSE(switch, initial value, source)``. No equation is restated: the rewrite works on
the syntax PySD parsed, and the compiler turns it into one kernel in which every cut is a
constant of the run. With every switch off the variant computes what the model computes.

References are matched as :class:`sd_runner.feedback.graph.CausalGraph` matches them (the fields of
:data:`~sd_runner.feedback.graph.CHILD_FIELDS`, never inside ``INITIAL``, only a stock's flows), so
a link is cut exactly where the graph draws it.
"""

from __future__ import annotations

import copy
import dataclasses
from pathlib import Path

from pysd.translators.structures import abstract_expressions as ae
from pysd.translators.structures import abstract_model as am

from sd_runner.engine.compiler import compile_abstract
from sd_runner.engine.structures import CompiledModel
from sd_runner.errors import InputError
from sd_runner.feedback.graph import CHILD_FIELDS
from sd_runner.model.mdl_text import abstract_model, clean_name

#: Names of the added elements; a model that already uses them is refused.
SWITCH = "Knockout Switch {}"
REFERENCE = "Knockout Reference {}"


@dataclasses.dataclass(frozen=True)
class CutVariant:
    """A compiled variant and, for each link, the name of the constant that cuts it."""

    compiled: CompiledModel
    switches: dict[tuple[str, str], str]


def compile_with_cuts(mdl: str | Path, links: list[tuple[str, str]]) -> CutVariant:
    """Compile ``mdl`` with a switch for each link ``(source, target)`` (Vensim names, as
    :class:`~sd_runner.feedback.graph.CausalGraph` spells them).

    Raises
    ------
    InputError
        When a link is not a causal link of the model.
    """
    mdl = Path(mdl)
    abstract = abstract_model(mdl, private=True)  # rewritten below
    switches = add_cuts(abstract, links, mdl.name)
    return CutVariant(compile_abstract(abstract, mdl.name), switches)


def add_cuts(abstract: am.AbstractModel, links: list[tuple[str, str]],
             source_name: str = "the model") -> dict[tuple[str, str], str]:
    """Rewrite ``abstract`` in place so that each link can be cut; returns the switch of each
    link. Links are numbered in sorted order, so the same links give the same kernel."""
    section = abstract.sections[0]
    elements = {element.name: element for element in section.elements}
    by_clean = {clean_name(name): name for name in elements}
    switches: dict[tuple[str, str], str] = {}
    references: dict[str, str] = {}
    added: list[am.AbstractElement] = []
    for number, (source, target) in enumerate(sorted(set(links)), start=1):
        source_element = elements.get(by_clean.get(clean_name(source), ""))
        target_element = elements.get(by_clean.get(clean_name(target), ""))
        switch = _new_name(SWITCH, number, by_clean, source_name)
        found: list[ae.ReferenceStructure] = []
        if source_element is not None and target_element is not None:
            reference = references.get(source_element.name)
            if reference is None:
                reference = _new_name(REFERENCE, len(references) + 1, by_clean, source_name)
            rewrite = _Rewrite(clean_name(source_element.name), _safe(switch),
                               _safe(reference), found)
            target_element.components = [rewrite.component(c)
                                         for c in target_element.components]
        if not found:
            raise InputError(f"{source} -> {target} is not a causal link of {source_name}: "
                             f"{target}'s equation does not use {source} during the run; "
                             "`sd-runner loops` lists the model's links")
        if source_element.name not in references:
            references[source_element.name] = reference
            added.append(_initial_value(reference, source_element, found[0].reference))
        added.append(am.AbstractElement(
            name=switch, components=[am.AbstractComponent(subscripts=([], []), ast=0.0)],
            units="Dmnl", limits=(0.0, 1.0),
            documentation=f"1 cuts {source} -> {target}: {target} sees {source} held at its "
                          "value at INITIAL TIME."))
        switches[(source, target)] = switch
    section.elements.extend(added)
    return switches


def _new_name(pattern: str, number: int, by_clean: dict[str, str], source_name: str) -> str:
    name = pattern.format(number)
    if clean_name(name) in by_clean:
        raise InputError(f"{source_name}: the model has a variable named {name!r}, which "
                         "loop knockouts add; rename it")
    by_clean[clean_name(name)] = name
    return name


def _safe(name: str) -> str:
    """The reference PySD writes for ``name`` (the compiler resolves it by its clean name)."""
    return name.lower().replace(" ", "_")


def _initial_value(name: str, source: am.AbstractElement, reference: str) -> am.AbstractElement:
    """``name[...] = INITIAL(source[...])``, over the subscripts of each of its components."""
    components = []
    for component in source.components:
        if isinstance(component, am.AbstractLookup):
            continue
        lhs, exceptions = component.subscripts
        subscripts = ae.SubscriptsReferenceStructure(list(lhs)) if lhs else None
        components.append(am.AbstractComponent(
            subscripts=(list(lhs), copy.deepcopy(exceptions)),
            ast=ae.InitialStructure(ae.ReferenceStructure(reference, subscripts))))
    return am.AbstractElement(name=name, components=components, units=source.units,
                              limits=source.limits,
                              documentation=f"{source.name} at INITIAL TIME.")


class _Rewrite:
    """Replaces the references to one source in a target's equation by the switched choice
    between the source and its initial value, collecting the references replaced."""

    def __init__(self, source: str, switch: str, reference: str,
                 found: list[ae.ReferenceStructure]):
        self.source, self.switch, self.reference, self.found = source, switch, reference, found

    def component(self, component: am.AbstractComponent) -> am.AbstractComponent:
        if isinstance(component, am.AbstractLookup | am.AbstractData):
            return component
        ast = component.ast
        if isinstance(ast, ae.IntegStructure):  # a stock sees its flows, not its initial value
            ast = dataclasses.replace(ast, flow=self.expression(ast.flow))
        else:
            ast = self.expression(ast)
        return dataclasses.replace(component, ast=ast)

    def expression(self, ast):
        if isinstance(ast, ae.ReferenceStructure):
            if clean_name(ast.reference) != self.source:
                return ast
            self.found.append(ast)
            held = ae.ReferenceStructure(self.reference, copy.deepcopy(ast.subscripts))
            return ae.CallStructure(ae.ReferenceStructure("if_then_else"),
                                    (ae.ReferenceStructure(self.switch), held, ast))
        if isinstance(ast, ae.InitialStructure) or not isinstance(ast, ae.AbstractSyntax):
            return ast  # a value fixed at the start, or a number
        changes = {}
        for name in CHILD_FIELDS:
            value = getattr(ast, name, None)
            if isinstance(value, tuple | list):
                changes[name] = type(value)(self.expression(item) for item in value)
            elif value is not None:
                changes[name] = self.expression(value)
        return dataclasses.replace(ast, **changes) if changes else ast
