"""Family relations over a small generated family tree, asked forwards and in reverse.

The facts state each parent link once, sometimes from the parent's side ("Ann is Ben's
mother") and sometimes from the child's ("Ben is Ann's son"); questions ask parents, children,
grandparents, grandchildren or siblings, as names to pick or as yes/no. The backward question
asks the inverse relation ("who is X's parent" <-> "which of ... is Y's child"), the direction
language models are known to learn poorly from one-way facts (the reversal curse). The hard split
asks great-grandparents and great-grandchildren in four-generation trees: three links to chain
where a regular question needs at most two.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from revthink.synthetic.draw import Draw
from revthink.synthetic.item import Family, Rendering
from revthink.synthetic.lexicon import Person, people

INVERSE = {"parent": "child", "child": "parent", "grandparent": "grandchild",
           "grandchild": "grandparent", "sibling": "sibling",
           "great_grandparent": "great_grandchild", "great_grandchild": "great_grandparent"}
UP = {"parent": 1, "grandparent": 2, "great_grandparent": 3}  # generations above the person
DOWN = {"child": 1, "grandchild": 2, "great_grandchild": 3}  # generations below
# relations every person has at most one of in these trees
UNIQUE = ("parent", "grandparent", "great_grandparent")
WORDS = {  # relation -> (female, male, neutral)
    "parent": ("mother", "father", "parent"), "child": ("daughter", "son", "child"),
    "grandparent": ("grandmother", "grandfather", "grandparent"),
    "grandchild": ("granddaughter", "grandson", "grandchild"),
    "sibling": ("sister", "brother", "sibling"),
    "great_grandparent": ("great-grandmother", "great-grandfather", "great-grandparent"),
    "great_grandchild": ("great-granddaughter", "great-grandson", "great-grandchild"),
}
KINDS = ("parent", "child", "grandparent", "grandchild", "sibling", "is_parent", "is_grandparent")
HARD_KINDS = ("great_grandparent", "great_grandchild", "is_great_grandparent")


@dataclass(frozen=True)
class Tree:
    people: tuple[Person, ...]
    parents: tuple[int, ...]  # parents[i] is i's one parent; -1 for the eldest

    def ancestor(self, x: int, generations: int) -> int:
        """``x``'s parent (1), grandparent (2), ...; -1 above the eldest."""
        for _ in range(generations):
            x = self.parents[x] if x >= 0 else -1
        return x

    def holders(self, relation: str, x: int) -> list[int]:
        """Everyone who is ``x``'s ``relation`` (e.g. relation "parent": x's parent)."""
        everyone, up = range(len(self.people)), self.parents
        if relation in UP:
            return [h for h in everyone if self.ancestor(x, UP[relation]) == h]
        if relation in DOWN:
            return [h for h in everyone if self.ancestor(h, DOWN[relation]) == x]
        return [h for h in everyone if h != x and up[h] == up[x] >= 0]  # siblings

    def others(self, relation: str, x: int) -> list[int]:
        """Everyone but ``x`` who is not ``x``'s ``relation``: the safe wrong options."""
        holders = self.holders(relation, x)
        return [h for h in range(len(self.people)) if h != x and h not in holders]


@dataclass(frozen=True)
class RelationFacts:
    tree: Tree
    relation: str  # asked relation: a key of INVERSE
    subject: int  # whose relative is asked for
    answer: int  # the relative (for yes/no: the true relative)
    candidate: int  # yes/no: the person asked about; -1 for name questions
    options: tuple[int, ...]  # name options (empty for yes/no)
    back_options: tuple[int, ...]  # names the backward question lists (empty: a "who is" one)


def _sample_tree(draw: Draw) -> Tree:
    parents = [-1] + [0] * draw.between(2, 3)
    children = list(range(1, len(parents)))
    while len(parents) < 5 or draw.chance(0.4) and len(parents) < 8:
        parents.append(draw.choice(children))
    return Tree(tuple(draw.sample(people(), len(parents))), tuple(parents))


def _sample_deep_tree(draw: Draw) -> Tree:
    """Four generations below one eldest: 2-3 children, 2-4 grandchildren, 1-3 great-grandchildren
    (each of a drawn member of the generation above), so three-link relations always exist."""
    parents, generation = [-1], [0]
    for fewest, most in ((2, 3), (2, 4), (1, 3)):
        born = []
        for _ in range(draw.between(fewest, most)):
            parents.append(draw.choice(generation))
            born.append(len(parents) - 1)
        generation = born
    return Tree(tuple(draw.sample(people(), len(parents))), tuple(parents))


def _pick(draw: Draw, tree: Tree, kinds: tuple[str, ...]) -> RelationFacts | None:
    """One question on ``tree``, or None when the drawn one lacks wrong options."""
    kind, subject = draw.choice(kinds), draw.below(len(tree.people))
    relation = kind.removeprefix("is_")
    holders, others = tree.holders(relation, subject), tree.others(relation, subject)
    if not holders or len(others) < 3:
        return None
    answer = draw.choice(holders)
    if kind.startswith("is_"):
        candidate = answer if draw.chance(0.5) else draw.choice(others)
        return RelationFacts(tree, relation, subject, answer, candidate, (), ())
    options = tuple(draw.shuffled([answer, *draw.sample(others, 3)]))
    back: tuple[int, ...] = ()
    if INVERSE[relation] not in UNIQUE:
        back_others = tree.others(INVERSE[relation], answer)
        if len(back_others) < 2:
            return None
        back = tuple(draw.shuffled([subject, *draw.sample(back_others, 2)]))
    return RelationFacts(tree, relation, subject, answer, -1, options, back)


def _first_fit(draw: Draw, grow: Callable[[Draw], Tree], kinds: tuple[str, ...]) -> RelationFacts:
    while True:
        facts = _pick(draw, grow(draw), kinds)
        if facts is not None:
            return facts


def sample(draw: Draw) -> RelationFacts:
    return _first_fit(draw, _sample_tree, KINDS)


def sample_hard(draw: Draw) -> RelationFacts:
    return _first_fit(draw, _sample_deep_tree, HARD_KINDS)


def steps(facts: RelationFacts) -> int:
    """Parent links the forward reasoning chains: 1 for a parent, 3 for a great-grandchild."""
    return len(_chain(facts.tree, facts.relation, facts.subject, facts.answer))


# --- wording --------------------------------------------------------------------------------

PARENT_SIDE = ("{P} is {C}'s {pw}.", "{C}'s {pw} is {P}.", "{P} is the {pw} of {C}.")
CHILD_SIDE = ("{C} is {P}'s {cw}.", "{P} has a {cw} named {C}.", "{C} is a child of {P}.")
INTRO = ("", "In one family:", "Here are facts about a family.", "Read about a family.")
ASK_ONE = ("Who is {S}'s {w}?", "Which person is {S}'s {w}?", "Who is the {w} of {S}?")
ASK_PICK = ("Which of these is {S}'s {w}?", "Which option names a {w} of {S}?",
            "Who among the options is {S}'s {w}?")
ASK_YES_NO = ("Is {C} {S}'s {w}?", "Is it true that {C} is the {w} of {S}?")
ASK_BACK_PICK = "Which of {names} is {S}'s {w}?"


@dataclass(frozen=True)
class Wording:
    """The forward question templates of one group of splits."""

    parent_side: tuple[str, ...]
    child_side: tuple[str, ...]
    intro: tuple[str, ...]
    ask_one: tuple[str, ...]
    ask_pick: tuple[str, ...]
    ask_yes_no: tuple[str, ...]


REGULAR = Wording(PARENT_SIDE, CHILD_SIDE, INTRO, ASK_ONE, ASK_PICK, ASK_YES_NO)
HELD_OUT = Wording(  # the hard split's only: a student cannot pass it on memorised phrasing
    parent_side=("The {pw} of {C} is {P}.", "{C} grew up with {P} as {cpos} {pw}."),
    child_side=("{P} raised {C}, {ppos} {cw}.", "One of {P}'s children is {C}."),
    intro=("Consider this family tree.", "The following people are related.",
           "Several generations of one family:"),
    ask_one=("Name the {w} of {S}.", "Tell me who {S}'s {w} is."),
    ask_pick=("Choose {S}'s {w} from the list.", "From the options, find a {w} of {S}."),
    ask_yes_no=("Would it be right to call {C} {S}'s {w}?",
                "Can {C} be described as the {w} of {S}?"),
)


def word(relation: str, person: Person, gendered: bool = True) -> str:
    female, male, neutral = WORDS[relation]
    return person.word(female, male) if gendered else neutral


def _edge_slots(tree: Tree, child: int) -> dict[str, str]:
    c, p = tree.people[child], tree.people[tree.parents[child]]
    return {"C": c.name, "P": p.name, "pw": word("parent", p), "cw": word("child", c),
            "cpos": c.possessive, "ppos": p.possessive}


def _statements(tree: Tree, q: Draw, templates: Wording) -> tuple[list[str], dict[int, bool]]:
    """The fact sentences in a drawn order, and for each child whether its link is stated from
    the parent's side (the reasoning then needs no reversal)."""
    sentences, parent_side = [], {}
    for child in q.shuffled([i for i, p in enumerate(tree.parents) if p >= 0]):
        parent_side[child] = q.chance(0.5)
        template = q.choice(templates.parent_side if parent_side[child] else templates.child_side)
        sentences.append(template.format(**_edge_slots(tree, child)))
    return sentences, parent_side


def _ask(facts: RelationFacts, q: Draw, templates: Wording) -> str:
    tree, gendered = facts.tree, q.chance(0.6)
    slots = {"S": tree.people[facts.subject].name}
    if facts.candidate >= 0:
        candidate = tree.people[facts.candidate]
        return q.choice(templates.ask_yes_no).format(
            **slots, C=candidate.name, w=word(facts.relation, candidate, gendered))
    w = word(facts.relation, tree.people[facts.answer], gendered)
    asks = templates.ask_one if facts.relation in UNIQUE else templates.ask_pick
    return q.choice(asks).format(**slots, w=w)


def _backward(facts: RelationFacts) -> tuple[str, int, int]:
    """(relation, person, relative) the backward question asks about: the inverse relation
    from the answer back to the subject; for yes/no, the subject's true relative."""
    if facts.candidate >= 0:
        return facts.relation, facts.subject, facts.answer
    return INVERSE[facts.relation], facts.answer, facts.subject


def _back_ask(facts: RelationFacts) -> str:
    relation, x, relative = _backward(facts)
    tree = facts.tree
    slots = {"S": tree.people[x].name, "w": word(relation, tree.people[relative])}
    if not facts.back_options:
        return "Who is {S}'s {w}?".format(**slots)
    names = [tree.people[i].name for i in facts.back_options]
    return ASK_BACK_PICK.format(names=", ".join(names[:-1]) + " or " + names[-1], **slots)


def _chain(tree: Tree, relation: str, x: int, relative: int) -> list[int]:
    """The children whose parent links show that ``relative`` is ``x``'s ``relation``."""
    if relation in UP:
        return [tree.ancestor(x, i) for i in range(UP[relation])]
    if relation in DOWN:
        return [tree.ancestor(relative, i) for i in range(DOWN[relation])]
    return [x, relative]  # siblings


def _explain(facts: RelationFacts, relation: str, x: int, relative: int,
             parent_side: dict[int, bool], r: Draw) -> str:
    """Restate the links in the direction the relation looks (reversing those stated the other
    way round, the step one-way learners miss), then conclude."""
    tree, lines = facts.tree, []
    upward = relation not in DOWN
    for child in _chain(tree, relation, x, relative):
        slots = _edge_slots(tree, child)
        up, down = "{P} is {C}'s {pw}".format(**slots), "{C} is {P}'s {cw}".format(**slots)
        needed, stated = (up, down) if upward else (down, up)
        if parent_side[child] == upward:
            lines.append(f"{needed}.")
        else:
            lines.append(r.choice(("{s}, so {n}.", "Since {s}, {n}.")).format(s=stated, n=needed))
    if relation not in ("parent", "child"):  # one link restated is already the conclusion
        who, of = tree.people[relative], tree.people[x]
        lines.append(f"So {who.name} is {of.name}'s {word(relation, who)}.")
    return " ".join(lines)


def _forward_close(facts: RelationFacts, r: Draw) -> str:
    tree = facts.tree
    if facts.candidate < 0:
        letter = chr(ord("A") + facts.options.index(facts.answer))
        name = tree.people[facts.answer].name
        return r.choice(("{n} is option ({L}).", "That is option ({L}), {n}.")).format(
            n=name, L=letter) + f" The answer is ({letter})."
    if facts.candidate == facts.answer:
        return "So yes. The answer is (A)."
    candidate, subject = tree.people[facts.candidate], tree.people[facts.subject]
    return (f"{candidate.name} is not {subject.name}'s {word(facts.relation, candidate, False)}, "
            "so no. The answer is (B).")


def render(facts: RelationFacts, q: Draw, r: Draw, held_out: bool) -> Rendering:
    tree, templates = facts.tree, HELD_OUT if held_out else REGULAR
    sentences, parent_side = _statements(tree, q, templates)
    intro = [q.choice(templates.intro)]
    question = " ".join(filter(None, [*intro, *sentences, _ask(facts, q, templates)]))
    backward_question = " ".join(filter(None, [*intro, *sentences, _back_ask(facts)]))
    forward = _explain(facts, facts.relation, facts.subject, facts.answer, parent_side, r)
    relation, x, relative = _backward(facts)
    backward = _explain(facts, relation, x, relative, parent_side, r)
    back_answer = tree.people[relative].name
    if facts.candidate >= 0:
        answer, options = ("A" if facts.candidate == facts.answer else "B"), ("yes", "no")
    else:
        answer = chr(ord("A") + facts.options.index(facts.answer))
        options = tuple(tree.people[i].name for i in facts.options)
    return Rendering(
        question=question, answer=answer, answer_type="choice", options=options,
        forward_reasoning=f"{forward} {_forward_close(facts, r)}",
        backward_question=backward_question,
        backward_reasoning=f"{backward} The answer is {back_answer}.", backward_answer=back_answer,
    )


def key(facts: RelationFacts) -> str:
    """The family as a set of links (the same family listed in another order is the same)."""
    tree = facts.tree
    links = sorted((tree.people[c].name, tree.people[p].name) for c, p in enumerate(tree.parents)
                   if p >= 0)
    candidate = tree.people[facts.candidate].name if facts.candidate >= 0 else ""
    return repr((links, facts.relation, tree.people[facts.subject].name, candidate))


FAMILY = Family("relations", sample, render, key, sample_hard, steps)
