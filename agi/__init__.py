"""Asterisk protocols only: FastAGI (on pyst2's command layer) and AMI.

- ``agi.replies``: pure parsing of AGI replies and the ``agi_*`` header (``parse_reply``, ``reply_lines``).
- ``agi.errors``: typed errors; ``AgiHangup`` is also pyst2's ``AGIHangup``.
- ``agi.channel``: ``HotlineAGI`` (pyst2's ``AGI`` fixed for Python 3 / sockets) with typed helpers
  ``play``, ``record``, ``get_var``, ``set_var``, ``exec_app``.
- ``agi.server``: ``FastAgiServer``, routing ``agi://host:4573/<path>`` to handlers, one process per call.
- ``agi.ami`` / ``agi.ami_codec``: a small AMI client (actions by ActionID, event lists, Originate, events).
- ``foundation.masking``: ``mask_number`` for logging caller ids.

Nothing here prints: AGI's stdout and both sockets are protocol channels. Use logging.
"""
