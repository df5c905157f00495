"""Customer mail as it arrived, remote images included, shown only when an agent asks for it.

Intake stores mail HTML with remote images removed (they are mostly tracking pixels). This
package re-reads the stored raw mail, sanitises its HTML again with https images kept, and
serves it as a document of its own, so its permission to load https images is its own CSP and
never the agent app's.
"""
