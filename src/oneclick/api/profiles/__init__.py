"""Response compatibility profiles, one wire surface per official SDK, applied to response
bodies at the edge (``middleware``); ``catalog`` says which exist and how one is chosen."""
