"""What was said in a video: audio decoded, speech found and transcribed (Whisper through
CTranslate2), subtitles read, as :class:`core.speech.transcript.Transcript` lines with times."""
