"""A parser for the FHIRPath subset that SQL-on-FHIR v2 ViewDefinitions use.

The grammar and operator precedence follow FHIRPath N1 (http://hl7.org/fhirpath/N1/), section "Grammar" and
"Operator precedence": path navigation, indexers, function invocations, literals, external constants (`%name`),
`$this`, and the unary, multiplicative, additive, type, union, comparison, equality, membership and boolean
operators. The parser produces a small immutable syntax tree; translating it to SQL is the job of
`expressions.py`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal
from typing import Literal as TypingLiteral

from medgov.analytics.ingest.viewdefinition.errors import ViewDefinitionError

LiteralKind = TypingLiteral["string", "boolean", "integer", "decimal", "date", "datetime", "time", "empty"]


@dataclass(frozen=True)
class Literal:
    kind: LiteralKind
    value: str | bool | int | Decimal | None


@dataclass(frozen=True)
class Identifier:
    """A name at the start of a path: a member of the current focus (or a type name, for ofType and is/as)."""

    name: str


@dataclass(frozen=True)
class Member:
    target: Node
    name: str


@dataclass(frozen=True)
class Call:
    """A function invocation; `target` is None when the function applies to the current focus."""

    target: Node | None
    name: str
    arguments: tuple[Node, ...]


@dataclass(frozen=True)
class Index:
    target: Node
    index: Node


@dataclass(frozen=True)
class Binary:
    operator: str
    left: Node
    right: Node


@dataclass(frozen=True)
class Unary:
    operator: str
    operand: Node


@dataclass(frozen=True)
class Constant:
    """An external constant, `%name`."""

    name: str


@dataclass(frozen=True)
class Special:
    """`$this`, `$index` or `$total`."""

    name: str


Node = Literal | Identifier | Member | Call | Index | Binary | Unary | Constant | Special


@dataclass(frozen=True)
class _Token:
    kind: str  # "string", "number", "datetime", "identifier", "constant", "special", "operator", "end"
    text: str
    position: int


_TOKEN_PATTERN = re.compile(
    r"""
    (?P<space>\s+|//[^\n]*|/\*.*?\*/)
  | (?P<string>'(?:[^'\\]|\\.)*')
  | (?P<datetime>@T?[0-9][0-9:.T+\-Z]*)
  | (?P<number>[0-9]+(?:\.[0-9]+)?)
  | (?P<delimited>`(?:[^`\\]|\\.)*`)
  | (?P<identifier>[A-Za-z_][A-Za-z0-9_]*)
  | (?P<constant>%(?:[A-Za-z_][A-Za-z0-9_]*|`(?:[^`\\]|\\.)*`|'(?:[^'\\]|\\.)*'))
  | (?P<special>\$(?:this|index|total))
  | (?P<operator><=|>=|!=|!~|[.\[\](){},=~<>+\-*/|&])
    """,
    re.VERBOSE | re.DOTALL,
)

_ESCAPES = {"'": "'", '"': '"', "`": "`", "\\": "\\", "/": "/", "f": "\f", "n": "\n", "r": "\r", "t": "\t"}


def _unescape(body: str) -> str:
    def replace(match: re.Match[str]) -> str:
        code = match.group(1)
        if code.startswith("u"):
            return chr(int(code[1:], 16))
        return _ESCAPES.get(code, code)

    return re.sub(r"\\(u[0-9a-fA-F]{4}|.)", replace, body)


def _tokenize(expression: str) -> list[_Token]:
    tokens: list[_Token] = []
    position = 0
    while position < len(expression):
        match = _TOKEN_PATTERN.match(expression, position)
        if match is None:
            raise ViewDefinitionError(
                f"FHIRPath {expression!r}: unexpected character {expression[position]!r} at position {position}"
            )
        kind = match.lastgroup
        assert kind is not None
        text = match.group()
        if kind == "delimited":
            tokens.append(_Token("identifier", _unescape(text[1:-1]), position))
        elif kind == "string":
            tokens.append(_Token("string", _unescape(text[1:-1]), position))
        elif kind == "constant":
            name = text[1:]
            if name[0] in "`'":
                name = _unescape(name[1:-1])
            tokens.append(_Token("constant", name, position))
        elif kind != "space":
            tokens.append(_Token(kind, text, position))
        position = match.end()
    tokens.append(_Token("end", "", position))
    return tokens


# Binding powers of the infix operators, from FHIRPath N1 "Operator precedence" (higher binds tighter).
_INFIX_POWER = {
    "implies": 1,
    "or": 2,
    "xor": 2,
    "and": 3,
    "in": 4,
    "contains": 4,
    "=": 5,
    "~": 5,
    "!=": 5,
    "!~": 5,
    "<": 6,
    ">": 6,
    "<=": 6,
    ">=": 6,
    "|": 7,
    "is": 8,
    "as": 8,
    "+": 9,
    "-": 9,
    "&": 9,
    "*": 10,
    "/": 10,
    "div": 10,
    "mod": 10,
}
_UNARY_POWER = 11
_WORD_OPERATORS = frozenset({"implies", "or", "xor", "and", "in", "contains", "is", "as", "div", "mod"})


class _Parser:
    def __init__(self, expression: str) -> None:
        self.expression = expression
        self.tokens = _tokenize(expression)
        self.position = 0

    def error(self, message: str) -> ViewDefinitionError:
        token = self.tokens[self.position]
        where = "at the end" if token.kind == "end" else f"at position {token.position} ({token.text!r})"
        return ViewDefinitionError(f"FHIRPath {self.expression!r}: {message} {where}")

    def peek(self) -> _Token:
        return self.tokens[self.position]

    def advance(self) -> _Token:
        token = self.tokens[self.position]
        self.position += 1
        return token

    def expect(self, text: str) -> None:
        token = self.peek()
        if token.kind != "operator" or token.text != text:
            raise self.error(f"expected {text!r}")
        self.advance()

    def parse(self) -> Node:
        if self.peek().kind == "end":
            raise self.error("empty expression")
        node = self.expression_(0)
        if self.peek().kind != "end":
            raise self.error("unexpected token")
        return node

    def infix_operator(self) -> str | None:
        token = self.peek()
        if token.kind == "operator" and token.text in _INFIX_POWER:
            return token.text
        if token.kind == "identifier" and token.text in _WORD_OPERATORS:
            return token.text
        return None

    def expression_(self, minimum_power: int) -> Node:
        left = self.prefix()
        while True:
            operator = self.infix_operator()
            if operator is None or _INFIX_POWER[operator] <= minimum_power:
                return left
            self.advance()
            if operator in ("is", "as"):
                left = Call(left, "ofType" if operator == "as" else "is", (self.type_specifier(),))
                continue
            right = self.expression_(_INFIX_POWER[operator])
            left = Binary(operator, left, right)

    def type_specifier(self) -> Node:
        token = self.advance()
        if token.kind != "identifier":
            self.position -= 1
            raise self.error("expected a type name")
        node: Node = Identifier(token.text)
        while self.peek().kind == "operator" and self.peek().text == ".":
            self.advance()
            name = self.advance()
            if name.kind != "identifier":
                self.position -= 1
                raise self.error("expected a type name")
            node = Member(node, name.text)
        return node

    def prefix(self) -> Node:
        token = self.peek()
        if token.kind == "operator" and token.text in ("+", "-"):
            self.advance()
            operand = self.expression_(_UNARY_POWER)
            return self.postfix(Unary(token.text, operand))
        return self.postfix(self.term())

    def term(self) -> Node:
        token = self.advance()
        if token.kind == "string":
            return Literal("string", token.text)
        if token.kind == "number":
            if "." in token.text:
                return Literal("decimal", Decimal(token.text))
            return Literal("integer", int(token.text))
        if token.kind == "datetime":
            return self.datetime_literal(token.text)
        if token.kind == "constant":
            return Constant(token.text)
        if token.kind == "special":
            return Special(token.text)
        if token.kind == "operator" and token.text == "(":
            inner = self.expression_(0)
            self.expect(")")
            return inner
        if token.kind == "operator" and token.text == "{":
            self.expect("}")
            return Literal("empty", None)
        if token.kind == "identifier":
            if token.text in ("true", "false"):
                return Literal("boolean", token.text == "true")
            if token.text in _WORD_OPERATORS - {"in", "contains", "is", "as"}:
                self.position -= 1
                raise self.error("unexpected operator")
            return self.invocation(None, token.text)
        self.position -= 1
        raise self.error("unexpected token")

    def datetime_literal(self, text: str) -> Literal:
        body = text[1:]
        if body.startswith("T"):
            if not re.fullmatch(r"T\d\d(:\d\d(:\d\d(\.\d+)?)?)?", body):
                raise self.error("malformed time literal")
            return Literal("time", body[1:])
        if not re.fullmatch(r"\d{4}(-\d\d(-\d\d)?)?(T(\d\d(:\d\d(:\d\d(\.\d+)?)?)?)?(Z|[+\-]\d\d:\d\d)?)?", body):
            raise self.error("malformed date/time literal")
        return Literal("datetime" if "T" in body else "date", body)

    def invocation(self, target: Node | None, name: str) -> Node:
        token = self.peek()
        if token.kind == "operator" and token.text == "(":
            self.advance()
            arguments: list[Node] = []
            if not (self.peek().kind == "operator" and self.peek().text == ")"):
                arguments.append(self.expression_(0))
                while self.peek().kind == "operator" and self.peek().text == ",":
                    self.advance()
                    arguments.append(self.expression_(0))
            self.expect(")")
            return Call(target, name, tuple(arguments))
        if target is None:
            return Identifier(name)
        return Member(target, name)

    def postfix(self, node: Node) -> Node:
        while True:
            token = self.peek()
            if token.kind == "operator" and token.text == ".":
                self.advance()
                name = self.advance()
                if name.kind != "identifier":
                    self.position -= 1
                    raise self.error("expected a name after '.'")
                node = self.invocation(node, name.text)
            elif token.kind == "operator" and token.text == "[":
                self.advance()
                index = self.expression_(0)
                self.expect("]")
                node = Index(node, index)
            else:
                return node


def parse(expression: str) -> Node:
    """Parse a FHIRPath expression (FHIRPath N1 grammar) into a syntax tree; raise ViewDefinitionError if malformed."""
    if not isinstance(expression, str):
        raise ViewDefinitionError(f"FHIRPath expression must be a string, not {type(expression).__name__}")
    return _Parser(expression).parse()
