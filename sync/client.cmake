# Configuration, the Salesforce REST client, OAuth and JWT, and sfa_login().
target_sources(sfagent PRIVATE
  ${CMAKE_CURRENT_LIST_DIR}/config.c
  ${CMAKE_CURRENT_LIST_DIR}/sf_parse.c
  ${CMAKE_CURRENT_LIST_DIR}/sf_client.c
  ${CMAKE_CURRENT_LIST_DIR}/oauth.c
  ${CMAKE_CURRENT_LIST_DIR}/jwt.c
  ${CMAKE_CURRENT_LIST_DIR}/login.c)
