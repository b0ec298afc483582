def test_it_serves_the_home_page(client, db):
    response = client.get("/")
    assert response.status_code == 200
    assert b"Export Desk" in response.content
