"""Multi-step arithmetic word problems (2-4 steps; 5-7 in the hard split) with integer answers.

A story is a start count and a chain of steps (buy more, give away, buy packs, multiply, share
equally, sell at a price). The backward question masks one number of the story as ``x`` and
gives the final answer; its reasoning undoes the steps after ``x`` and redoes the ones before.
"""

from __future__ import annotations

from dataclasses import dataclass

from revthink.synthetic.draw import Draw
from revthink.synthetic.item import Family, Rendering
from revthink.synthetic.lexicon import THINGS, Person, Thing, capitalize, people


@dataclass(frozen=True)
class Step:
    kind: str  # "add" | "sub" | "boxes" | "times" | "share" | "price" (price only last)
    numbers: tuple[int, ...]  # add/sub/times: (k,); boxes: (packs, per pack); share: (m,); price


@dataclass(frozen=True)
class Story:
    person: Person
    friend: Person
    thing: Thing
    start: int
    steps: tuple[Step, ...]
    masked: tuple[int, int]  # (position, operand): position 0 is the start, i is steps[i - 1]


def apply(step: Step, value: int) -> int:
    k = step.numbers[0]
    return {
        "add": value + k, "sub": value - k, "times": value * k, "share": value // k,
        "price": value * k, "boxes": value + k * step.numbers[-1],
    }[step.kind]


def values(story: Story) -> list[int]:
    """The count before the first step, then after each step."""
    out = [story.start]
    for step in story.steps:
        out.append(apply(step, out[-1]))
    return out


def _sample_step(draw: Draw, value: int, last: bool) -> Step:
    shares = [m for m in range(2, 7) if value % m == 0 and value // m >= 2]
    kinds = ["add", "boxes"] + ["sub"] * (value >= 5) + ["times"] * (value <= 100)
    kinds += ["share"] * bool(shares) * 2 + ["price"] * (last and value <= 150) * 2
    kind = draw.choice(kinds)
    if kind == "add":
        return Step(kind, (draw.between(2, 30),))
    if kind == "sub":
        return Step(kind, (draw.between(2, value - 2),))
    if kind == "boxes":
        return Step(kind, (draw.between(2, 6), draw.between(2, 12)))
    if kind == "times":
        return Step(kind, (draw.between(2, 4),))
    if kind == "share":
        return Step(kind, (draw.choice(shares),))
    return Step(kind, (draw.between(2, 9),))


def _story(draw: Draw, fewest: int, most: int) -> Story:
    person = draw.choice(people())
    # a friend of the other gender keeps every "she"/"he" unambiguous
    friend = draw.choice([p for p in people() if p.gender != person.gender])
    start = draw.between(4, 40)
    steps: list[Step] = []
    value, count = start, draw.between(fewest, most)
    for i in range(count):
        steps.append(_sample_step(draw, value, last=i == count - 1))
        value = apply(steps[-1], value)
    positions = [(0, 0)] + [(i + 1, j) for i, s in enumerate(steps) for j in range(len(s.numbers))]
    return Story(person, friend, draw.choice(THINGS), start, tuple(steps), draw.choice(positions))


def sample(draw: Draw) -> Story:
    return _story(draw, 2, 4)


def sample_hard(draw: Draw) -> Story:
    return _story(draw, 5, 7)


def steps(story: Story) -> int:
    return len(story.steps)


# --- question wording -----------------------------------------------------------------------

START = (
    "{name} has {a} {things}.", "{name} buys {a} {things} at the market.",
    "{name} starts the day with {a} {things}.", "{name} collects {a} {things}.",
    "At first, {name} owns {a} {things}.", "There are {a} {things} in {name}'s room.",
)
CLAUSES: dict[str, tuple[str, ...]] = {
    "add": (
        "{s} buys {n0} more {things}.", "{s} finds {n0} more {things}.",
        "{friend} gives {o} {n0} {things}.", "{s} wins {n0} {things} in a game.",
        "{s} gets {n0} extra {things} from {friend}.",
    ),
    "sub": (
        "{s} gives {n0} {things} to {friend}.", "{s} loses {n0} {things}.",
        "{s} sells {n0} of the {things}.", "{friend} takes {n0} {things} from {o}.",
        "{s} throws away {n0} broken {things}.",
    ),
    "boxes": (
        "{s} buys {n0} {pack} with {n1} {things} in each.",
        "{friend} brings {o} {n0} {pack} of {n1} {things} each.",
        "{s} adds {n0} {pack}, each holding {n1} {things}.",
    ),
    "times": (
        "{s} gets more until {s} has {n0} times as many {things} as before.",
        "{pos} pile of {things} grows to {n0} times its size.",
        "{s} ends up with {n0} times as many {things}.",
    ),
    "share": (
        "{s} splits the {things} into {n0} equal groups and keeps one group.",
        "{s} shares them equally among {n0} people, {self} included, and keeps one share.",
        "{s} packs the {things} equally into {n0} {pack} and keeps only one of them.",
    ),
}
CONNECTORS = ("Then", "After that,", "Next,", "Later,", "", "Then")
ASK = (
    "How many {things} does {name} have now?", "How many {things} does {s} have in the end?",
    "How many {things} does {name} end up with?",
    "What is the number of {things} {name} has at the end?",
    "How many {things} are left with {name}?",
)
PRICE_ASK = (
    "If {s} then sells all of them for ${n0} each, how many dollars does {s} get?",
    "Each {thing} sells for ${n0}. How much money, in dollars, does {name} make selling them all?",
    "{name} sells every {thing} for ${n0}. How many dollars does {s} earn?",
)
GIVEN = ("{name} ends up with {final} {things}.", "In the end there are {final} {things}.",
         "The final count is {final} {things}.")
PRICE_GIVEN = ("{s} then sells all of them for ${n0} each and gets {final} dollars.",
               "Selling every {thing} for ${n0}, {s} earns {final} dollars.")
FIND = ("What is x?", "What is the value of x?", "Find x.", "How much is x?")


@dataclass(frozen=True)
class Wording:
    """The question templates of one group of splits."""

    start: tuple[str, ...]
    clauses: dict[str, tuple[str, ...]]
    connectors: tuple[str, ...]
    ask: tuple[str, ...]
    price_ask: tuple[str, ...]


REGULAR = Wording(START, CLAUSES, CONNECTORS, ASK, PRICE_ASK)
HELD_OUT = Wording(  # the hard split's only: a student cannot pass it on memorised phrasing
    start=("{name} keeps {a} {things} in a drawer.", "On Monday, {name} counts {a} {things}.",
           "{name}'s collection begins with {a} {things}."),
    clauses={
        "add": ("{s} picks up another {n0} {things}.", "{friend} hands {o} {n0} more {things}."),
        "sub": ("{s} donates {n0} {things} to a school.",
                "{friend} borrows {n0} {things} and never returns them."),
        "boxes": ("{s} orders {n0} {pack} containing {n1} {things} apiece.",
                  "{friend} drops off {n0} {pack} for {o}, each with {n1} {things} inside."),
        "times": ("the count of {things} becomes {n0} times what it was.",
                  "{s} makes the pile {n0} times as big."),
        "share": ("{s} divides the {things} evenly into {n0} piles and holds on to just one pile.",
                  "{s} deals the {things} out equally to {n0} people, counting {self}, and keeps "
                  "{pos} own portion."),
    },
    connectors=("Afterwards,", "Following that,", "Subsequently,", "Soon after,"),
    ask=("How large is {name}'s collection of {things} at this point?",
         "Count the {things} {name} holds after all of this.",
         "What total of {things} does {name} finish with?"),
    price_ask=("Finally {s} sells the whole lot at ${n0} per {thing}. What is {pos} income in "
               "dollars?", "At ${n0} per {thing}, what does {name} earn in dollars by selling "
               "everything?"),
)


def _slots(story: Story) -> dict[str, str]:
    p, t = story.person, story.thing
    return {
        "name": p.name, "s": p.subject, "o": p.object, "pos": p.possessive,
        "self": p.word("herself", "himself"), "friend": story.friend.name,
        "thing": t.singular, "things": t.plural, "pack": t.pack,
    }


def _number_slots(story: Story, position: int, masked: bool) -> dict[str, str]:
    numbers = (story.start,) if position == 0 else story.steps[position - 1].numbers
    return {
        f"n{j}": "x" if masked and story.masked == (position, j) else str(n)
        for j, n in enumerate(numbers)
    }


def _statements(story: Story, wording: list[str], masked: bool) -> list[str]:
    """The story's sentences (price excluded), with ``x`` for the masked number if asked."""
    slots = _slots(story)
    start = _number_slots(story, 0, masked)["n0"]
    out = [capitalize(wording[0].format(a=start, **slots))]
    for position, step in enumerate(story.steps, start=1):
        if step.kind != "price":
            out.append(capitalize(wording[position].format(
                **slots, **_number_slots(story, position, masked))))
    return out


def _wording(story: Story, q: Draw, templates: Wording) -> list[str]:
    """One template per sentence: the start, then each step with its connector."""
    out = [q.choice(templates.start)]
    for step in story.steps:
        if step.kind != "price":
            connector = q.choice(templates.connectors)
            out.append((connector + " " if connector else "") + q.choice(
                templates.clauses[step.kind]))
    return out


def _questions(story: Story, q: Draw, templates: Wording) -> tuple[str, str]:
    """The forward question and the backward question (``x`` masked, the answer given)."""
    wording, slots = _wording(story, q, templates), _slots(story)
    last = story.steps[-1]
    final = str(values(story)[-1])
    number = _number_slots(story, len(story.steps), masked=False)
    hidden = _number_slots(story, len(story.steps), masked=True)
    if last.kind == "price":
        ask = q.choice(templates.price_ask).format(**slots, **number)
        given = q.choice(PRICE_GIVEN).format(**slots, **hidden, final=final)
    else:
        ask = q.choice(templates.ask).format(**slots)
        given = q.choice(GIVEN).format(**slots, final=final)
    forward = " ".join([*_statements(story, wording, False), capitalize(ask)])
    backward = " ".join([*_statements(story, wording, True), capitalize(given), q.choice(FIND)])
    return forward, backward


# --- reasoning wording ----------------------------------------------------------------------

START_LINE = ("{name} starts with {a} {things}.", "At first there are {a} {things}.",
              "{name} has {a} {things} to begin with.")
FORWARD: dict[str, tuple[str, ...]] = {
    "add": ("Getting {n0} more gives {a} + {n0} = {b}.", "{a} + {n0} = {b} {things} after that.",
            "Adding {n0}: {a} + {n0} = {b}."),
    "sub": ("Losing {n0} leaves {a} - {n0} = {b}.", "{a} - {n0} = {b} {things} are left.",
            "Taking away {n0}: {a} - {n0} = {b}."),
    "boxes": ("{n0} {pack} of {n1} is {n0} * {n1} = {km}, so {a} + {km} = {b}.",
              "The {pack} hold {n0} * {n1} = {km} {things}, and {a} + {km} = {b}."),
    "times": ("{n0} times as many is {a} * {n0} = {b}.", "Multiplying by {n0}: {a} * {n0} = {b}."),
    "share": ("One of {n0} equal shares is {a} / {n0} = {b}.",
              "Dividing by {n0}: {a} / {n0} = {b} {things} kept."),
    "price": ("At ${n0} each, {a} {things} bring {a} * {n0} = {b} dollars.",
              "Selling {a} {things} at ${n0} gives {a} * {n0} = {b} dollars."),
}
UNDO: dict[str, tuple[str, ...]] = {
    "add": ("Before getting {n0} more, there were {b} - {n0} = {a}.",
            "Undoing the {n0} added: {b} - {n0} = {a}."),
    "sub": ("Before losing {n0}, there were {b} + {n0} = {a}.",
            "Undoing the {n0} taken away: {b} + {n0} = {a}."),
    "boxes": ("The {pack} added {n0} * {n1} = {km}, so before them there were {b} - {km} = {a}.",),
    "times": ("Before growing {n0} times, there were {b} / {n0} = {a}.",
              "Undoing the multiplication: {b} / {n0} = {a}."),
    "share": ("Before keeping one of {n0} shares, there were {b} * {n0} = {a}.",
              "Undoing the division: {b} * {n0} = {a}."),
    "price": ("{b} dollars at ${n0} each means {b} / {n0} = {a} {things}.",),
}
SOLVE: dict[tuple[str, int], str] = {
    ("add", 0): "So x = {b} - {a} = {n0}.",
    ("sub", 0): "So x = {a} - {b} = {n0}.",
    ("boxes", 0): "The {pack} added {b} - {a} = {km}, so x = {km} / {n1} = {n0}.",
    ("boxes", 1): "The {pack} added {b} - {a} = {km}, so x = {km} / {n0} = {n1}.",
    ("times", 0): "So x = {b} / {a} = {n0}.",
    ("share", 0): "So x = {a} / {b} = {n0}.",
    ("price", 0): "So x = {b} / {a} = {n0}.",
}
GIVEN_LINE = ("{name} ends with {b} {things}.", "The final count is {b}.")
GIVEN_PRICE_LINE = ("{name} gets {b} dollars.", "The total is {b} dollars.")


def _step_slots(story: Story, position: int) -> dict[str, str]:
    """Slots of step ``position`` (1-based): its numbers, the count before (a) and after (b)."""
    step, counts = story.steps[position - 1], values(story)
    slots = {**_slots(story), **_number_slots(story, position, masked=False)}
    km = step.numbers[0] * step.numbers[-1]
    return {**slots, "a": str(counts[position - 1]), "b": str(counts[position]), "km": str(km)}


def _forward_reasoning(story: Story, r: Draw) -> str:
    lines = [r.choice(START_LINE).format(a=story.start, **_slots(story))]
    for position, step in enumerate(story.steps, start=1):
        lines.append(r.choice(FORWARD[step.kind]).format(**_step_slots(story, position)))
    lines.append(f"The answer is {values(story)[-1]}.")
    return " ".join(capitalize(line) for line in lines)


def _backward_reasoning(story: Story, r: Draw) -> tuple[str, str]:
    """Undo the steps after x, redo those before it, solve for x; returns (reasoning, x)."""
    position, operand = story.masked
    given = GIVEN_PRICE_LINE if story.steps[-1].kind == "price" else GIVEN_LINE
    lines = [r.choice(given).format(b=values(story)[-1], **_slots(story))]
    for later in range(len(story.steps), position, -1):
        lines.append(r.choice(UNDO[story.steps[later - 1].kind]).format(
            **_step_slots(story, later)))
    if position == 0:
        answer = str(story.start)
        lines.append(f"So x = {answer}.")
    else:
        lines.append(r.choice(START_LINE).format(a=story.start, **_slots(story)))
        for earlier in range(1, position):
            lines.append(r.choice(FORWARD[story.steps[earlier - 1].kind]).format(
                **_step_slots(story, earlier)))
        step = story.steps[position - 1]
        answer = str(step.numbers[operand])
        lines.append(SOLVE[step.kind, operand].format(**_step_slots(story, position)))
    lines.append(f"The answer is {answer}.")
    return " ".join(capitalize(line) for line in lines), answer


def render(story: Story, q: Draw, r: Draw, held_out: bool) -> Rendering:
    question, backward_question = _questions(story, q, HELD_OUT if held_out else REGULAR)
    backward_reasoning, backward_answer = _backward_reasoning(story, r)
    return Rendering(
        question=question, answer=str(values(story)[-1]), answer_type="number",
        forward_reasoning=_forward_reasoning(story, r), backward_question=backward_question,
        backward_reasoning=backward_reasoning, backward_answer=backward_answer,
    )


def key(story: Story) -> str:
    return repr((story.person, story.friend, story.thing, story.start, story.steps))


FAMILY = Family("arithmetic", sample, render, key, sample_hard, steps)
