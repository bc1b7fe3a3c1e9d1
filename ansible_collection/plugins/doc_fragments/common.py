# -*- coding: utf-8 -*-
# Copyright: (c) 2025, vigil contributors
# GNU General Public License v2.0+ (see https://www.gnu.org/licenses/old-licenses/gpl-2.0.txt)

from __future__ import annotations


class ModuleDocFragment(object):

    # Every module that talks to a cluster.
    DOCUMENTATION = r'''
options:
  socket:
    description:
      - Path of the control socket of the vigild to talk to (C(control_socket) in the
        daemon's configuration).
      - Any node's socket works; writes are forwarded to the DC.
      - Set it once for a play with C(module_defaults) and the group C(group/vigil.cluster.cluster).
    type: path
    default: /run/vigil/vigil.sock
'''

    # Modules that read or change the CIB.
    CIB_FILE = r'''
options:
  cib_file:
    description:
      - Read and write this CIB file instead of talking to a daemon, to stage changes offline.
      - The file is created with an empty configuration when it does not exist.
      - Each change bumps the C(epoch) and replaces the file atomically; a run with nothing
        to change leaves the file byte-identical.
      - When set, O(socket) is not used.
    type: path
'''
