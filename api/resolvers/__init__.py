"""Resolvers of the GraphQL schema, one module per concept."""
