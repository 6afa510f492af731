"""Optional literature tools: arXiv, PubMed (E-utilities) and Europe PMC, cached and paced."""

from coscientist.literature.http import Paper, ServiceError, ServiceUnreachable
from coscientist.literature.identifiers import Identifier, parse_identifier
from coscientist.literature.tools import SERVICES, LiteratureTools

__all__ = [
    "SERVICES",
    "Identifier",
    "LiteratureTools",
    "Paper",
    "ServiceError",
    "ServiceUnreachable",
    "parse_identifier",
]
