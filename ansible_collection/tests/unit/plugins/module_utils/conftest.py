# -*- coding: utf-8 -*-
# GNU General Public License v2.0+ (see https://www.gnu.org/licenses/old-licenses/gpl-2.0.txt)

from __future__ import annotations

import os
import xml.etree.ElementTree as ET

import pytest

FIXTURES = os.path.join(os.path.dirname(__file__), "fixtures")


def _read(name):
    with open(os.path.join(FIXTURES, name)) as handle:
        return handle.read()


@pytest.fixture
def fixture_text():
    return _read


@pytest.fixture
def fixture_xml():
    return lambda name: ET.fromstring(_read(name))
