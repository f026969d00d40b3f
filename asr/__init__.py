"""Speech recognition: Vosk, audio handling and streaming decode of growing recordings."""
