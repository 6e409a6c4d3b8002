"""MB0xx: what the converter reports about a file as a whole or about APIs it cannot place."""

from codemods.rules import describe

describe("MB001", "unparsable file -> reported with its syntax error, copied unchanged")
describe("MB004", "file that cannot be read or written (permissions, a dangling symlink) -> reported, skipped; "
                  "the rest of the tree is converted")
describe("MB002", "torch API with no mapping -> left as `torch.<name>` (import torch kept), reported")
describe("MB003", "torch API the tables mark unsupported -> left as `torch.<name>`, reported with a suggestion")
describe("MB009", "converted code that would not parse (a converter bug) -> the file is left unconverted and reported")
