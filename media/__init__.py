"""Everything that reads or writes audio and video. The one place that runs ffmpeg."""
