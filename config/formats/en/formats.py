# The English interface keeps Spanish dates and numbers: the business and its
# documents are Spanish whatever language a user reads the menus in.
from config.formats.es.formats import *  # noqa: F403
